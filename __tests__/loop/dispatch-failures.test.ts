/**
 * How the loop treats an agent's typed dispatch failures (src/loop/ports.ts):
 * a permanent one (nothing to start the agent with until the configuration
 * changes) hands the run back once, on the next tick, without trying again;
 * an unavailable agent (token, network) is nobody's run's fault: it is not
 * counted, nothing is handed back, and nothing more is claimed meanwhile.
 */
import { describe, expect, it } from '@jest/globals'
import { tick } from '../../src/loop/tick.js'
import { AgentUnavailableError, PermanentDispatchError } from '../../src/loop/ports.js'
import { MAX_DISPATCH_FAILURES } from '../../src/loop/watcher.js'
import { summaryMarkdown } from '../../src/loop/report.js'
import { defaultSettings, makeWorld } from '../../__fixtures__/loop-world.js'

const REPO = 'octo/app'

describe('a permanent dispatch failure', () => {
  it('hands the run back once, naming the fix, and never dispatches again', async () => {
    const world = makeWorld()
    world.addIssue(REPO, 1)
    let attempts = 0
    world.dispatchFailure = () => {
      attempts++
      return new PermanentDispatchError('no model to start the agent with: set the t3-model input')
    }
    const settings = defaultSettings()

    const first = await tick(settings, world.ports())
    expect(first.rows[0]).toMatchObject({
      action: 'CLAIM',
      error: expect.stringMatching(/t3-model/)
    })
    expect(first.warnings.join('\n')).toMatch(/octo\/app#1: the agent can't be started: .*t3-model/)
    expect(summaryMarkdown(first)).toMatch(/t3-model/)
    expect(world.statusOf(REPO, 1)?.record?.intent?.failures).toBe(MAX_DISPATCH_FAILURES)

    world.advance(60)
    const second = await tick(settings, world.ports())
    expect(second.rows[0]).toMatchObject({ action: 'HAND_BACK', reason: 'dispatch-failed' })
    const terminal = world.statusOf(REPO, 1)?.record?.terminal
    expect(terminal?.detail).toMatch(/last error: no model .* t3-model/)
    expect(world.issue(REPO, 1).labels).toEqual(['ready-for-human'])

    world.advance(60)
    await tick(settings, world.ports())
    expect(attempts).toBe(1)
    expect(world.dispatchCalls).toHaveLength(0)
    expect(world.deliveries.filter((d) => d.notification.kind === 'needs-human')).toHaveLength(1)
  })
})

describe('an unavailable agent', () => {
  it('counts nothing against the run, hands nothing back, claims nothing more, and resumes after', async () => {
    const world = makeWorld()
    world.addIssue(REPO, 1)
    world.addIssue(REPO, 2)
    let attempts = 0
    world.dispatchFailure = () => {
      attempts++
      return new AgentUnavailableError('t3-token was rejected by the T3 server')
    }
    const settings = defaultSettings()
    for (let i = 0; i < MAX_DISPATCH_FAILURES + 2; i++) {
      const report = await tick(settings, world.ports())
      world.advance(300)
      expect(report.rows.find((r) => r.issue === 2)).toMatchObject({
        action: 'SKIP',
        note: expect.stringMatching(/not claimed: the agent can't be used this tick \(t3-token/)
      })
    }
    expect(attempts).toBe(MAX_DISPATCH_FAILURES + 2)
    expect(world.statusOf(REPO, 1)?.record).toMatchObject({
      terminal: null,
      intent: { failures: 0, lastError: 't3-token was rejected by the T3 server' }
    })
    expect(world.statusOf(REPO, 2)).toBeNull()

    world.dispatchFailure = null
    await tick(settings, world.ports())
    expect(world.dispatchCalls.map((d) => d.issue).sort()).toEqual([1, 2])
    expect(world.statusOf(REPO, 1)?.record?.threads).toHaveLength(1)
  })
})

describe('an agent whose snapshot says it is unavailable', () => {
  it('gets no run claimed at all, and the summary says why', async () => {
    const world = makeWorld()
    world.addIssue(REPO, 1)
    const agent = world.ports().agent
    const ports = {
      ...world.ports(),
      agent: {
        ...agent,
        snapshot: () =>
          Promise.resolve({
            error: 't3-token was rejected by the T3 server',
            unavailable: true,
            status: () => null
          })
      }
    }
    const report = await tick(defaultSettings(), ports)
    expect(report.rows[0]).toMatchObject({
      action: 'SKIP',
      note: expect.stringMatching(/not claimed: .*t3-token was rejected/)
    })
    expect(report.warnings.join('\n')).toMatch(/t3-token was rejected/)
    expect(world.statusOf(REPO, 1)).toBeNull()
    expect(world.issue(REPO, 1).labels).toEqual(['ready-for-agent'])
    // A snapshot error that is not about the whole backend does not stop claims.
    const flaky = {
      ...ports,
      agent: {
        ...agent,
        snapshot: () =>
          Promise.resolve({ error: 'a shape afk-loop does not know', status: () => null })
      }
    }
    await tick(defaultSettings(), flaky)
    expect(world.dispatchCalls.map((d) => d.issue)).toEqual([1])
  })
})
