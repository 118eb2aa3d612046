/**
 * The real notifier inside a tick, against a receiver that is dead at first:
 * the tick never fails because of it, other runs go on, and once the
 * receiver is back the doorbell arrives exactly once per run, carrying the
 * same idempotency key as every failed try.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { tick } from '../../src/loop/tick.js'
import { createNotifier } from '../../src/notify/index.js'
import { defaultSettings, makeWorld } from '../../__fixtures__/loop-world.js'
import { startReceiver, type Receiver } from '../../__fixtures__/receiver.js'

const REPO = 'octo/app'
let receiver: Receiver
beforeEach(async () => {
  receiver = await startReceiver()
})
afterEach(async () => {
  await receiver.close()
})

describe('a dead doorbell receiver', () => {
  it('fails no tick, delays no run, and gets exactly one delivery per run once back, with the same key', async () => {
    const world = makeWorld()
    world.addIssue(REPO, 1, { script: [['run', 'push:green', 'idle']] })
    world.addIssue(REPO, 2, {
      script: [['run', 'run', 'run', 'run', 'run', 'run', 'push:green', 'idle']]
    })
    const notifier = createNotifier(
      { slackWebhook: null, webhookUrl: `${receiver.url}/hook`, webhookSecret: 's', mention: null },
      { allowLoopbackHttp: true, timeoutMs: 1000 }
    )
    const settings = defaultSettings()
    const ports = () => ({ ...world.ports(), notifier })
    receiver.respond = 503

    // Both runs land while the receiver is down; every tick still succeeds.
    for (let i = 0; i < 40 && !world.statusOf(REPO, 2)?.record?.terminal; i++) {
      const report = await tick(settings, ports())
      expect(report.rows.every((r) => r.error === null)).toBe(true)
      world.advance(300)
    }
    const record1 = world.statusOf(REPO, 1)?.record
    expect(record1?.terminal?.action).toBe('CLOSE_SUCCESS')
    expect(world.statusOf(REPO, 2)?.record?.terminal?.action).toBe('CLOSE_SUCCESS')
    expect(record1?.outbox[0]?.pending).toEqual(['webhook'])
    const failedTries = receiver.received.length
    expect(failedTries).toBeGreaterThan(2)

    // The receiver comes back: each run's doorbell is delivered exactly once more.
    receiver.respond = 200
    for (let i = 0; i < 5; i++) {
      world.advance(3600)
      await tick(settings, ports())
    }
    const delivered = receiver.received.slice(failedTries)
    expect(delivered).toHaveLength(2)
    const keys = (n: number) =>
      receiver.received
        .map((r) => JSON.parse(r.raw) as { issue: number; key: string })
        .filter((b) => b.issue === n)
        .map((b) => b.key)
    for (const n of [1, 2]) {
      expect(new Set(keys(n)).size).toBe(1)
      expect(world.statusOf(REPO, n)?.record?.outbox[0]?.delivered).toEqual(['webhook'])
    }
    expect(
      receiver.received.every((r) => r.headers['idempotency-key'] === JSON.parse(r.raw).key)
    ).toBe(true)
  })
})
