/**
 * The committed bundle against the strict sandbox T3 of every generation,
 * with the default inputs (`t3-model` empty): a repository whose T3 project
 * has a default model gets its run claimed and its agent started; one whose
 * project has none is handed back once, naming `t3-model`, with nothing sent.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { projectFor, T3_GENERATIONS } from '../../sandbox/t3/server.js'
import { startWorld, type World } from '../../sandbox/scenario.js'
import { hasEnded, outcome, recordOf, tickUntil } from '../../__fixtures__/e2e.js'

jest.setTimeout(240_000)
const READY = 'acme/widgets'
const BARE = 'acme/bare'
let world: World | null = null
afterEach(async () => {
  await world?.close()
  world = null
})

describe.each(T3_GENERATIONS)('T3 %s through the bundle, default inputs', (generation) => {
  it('starts the agent with the project default; hands back once, naming t3-model, when there is none', async () => {
    world = await startWorld({
      repos: [READY, BARE],
      t3: { generation, projects: [projectFor(READY), projectFor(BARE, 'proj-bare', null)] }
    })
    const w = world
    const ready = w.addIssue(READY, 'Has a model', [['run', 'run', 'run', 'run']])
    const bare = w.addIssue(BARE, 'Has none', [['run']])
    const started = () =>
      [...w.t3.threads.values()].some(
        (t) => t.projectId === 'proj-acme-widgets' && t.latestTurn?.state === 'running'
      )
    const { decisions } = await tickUntil(w, () => started() && hasEnded(w, BARE, bare), {
      maxTicks: 6
    })

    expect(recordOf(w, READY, ready)?.threads).toHaveLength(1)
    expect(outcome(w, BARE, bare)).toEqual({
      action: 'ESCALATE_PREPUSH',
      reason: 'agent-error',
      labels: ['ready-for-human'],
      state: 'OPEN',
      doorbells: ['needs-human']
    })
    expect(recordOf(w, BARE, bare)?.terminal?.detail).toMatch(/set the t3-model input/)
    expect(decisions.filter((d) => d.startsWith(`#${bare} ESCALATE_PREPUSH`))).toHaveLength(1)
    // Nothing was sent for the bare project; every command sent was accepted.
    const sent = w.t3.received.map((r) => r.body as { projectId?: string; threadId: string })
    expect(sent.some((b) => b.projectId === 'proj-bare')).toBe(false)
    expect(w.t3.received.every((r) => r.status === 200)).toBe(true)
    // The server's address never reached a comment or a doorbell.
    const address = w.t3.url.replace('http://', '')
    const published = [
      ...w.store.issue(BARE, bare).comments.map((c) => c.body),
      ...w.doorbells.map((d) => JSON.stringify(d.body))
    ].join('\n')
    expect(published).not.toContain(address)
  })
})
