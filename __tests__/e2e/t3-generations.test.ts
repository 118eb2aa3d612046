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
import { deadUrl } from '../../__fixtures__/receiver.js'
import { runAction } from '../../sandbox/action-process.js'

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
      action: 'HAND_BACK',
      reason: 'dispatch-failed',
      labels: ['ready-for-human'],
      state: 'OPEN',
      doorbells: ['needs-human']
    })
    expect(recordOf(w, BARE, bare)?.terminal?.detail).toMatch(/set the t3-model input/)
    expect(decisions.filter((d) => d.startsWith(`#${bare} HAND_BACK`))).toHaveLength(1)
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

describe.each(['v0.0.25', 'v0.0.32'] as const)(
  'T3 %s through the bundle: a server that cannot be used claims nothing and names why',
  (generation) => {
    it.each([
      [
        'an expired token',
        { inputs: { 't3-token': 'expired' } },
        /t3-token was rejected by the T3 server/
      ],
      [
        'a token without the owner right',
        { inputs: { 't3-token': 'reader' } },
        /t3-token (lacks the administrative right|is not an owner session)/
      ],
      ['a 307 redirect', { redirect: true }, /answered with a redirect, and afk-loop follows none/],
      ['a 60 MB snapshot', { padding: 60 * 1024 * 1024 }, /larger than 50 MB/],
      ['an unreachable server', { dead: true }, /the T3 server \(t3-url\) is unreachable/]
    ] as const)('%s', async (_name, fault, expected) => {
      const f = fault as {
        inputs?: Record<string, string>
        redirect?: boolean
        padding?: number
        dead?: boolean
      }
      world = await startWorld({
        repos: [READY],
        t3: {
          generation,
          limitedTokens: ['reader'],
          ...(f.redirect ? { redirectTo: 'http://127.0.0.1:9' } : {}),
          ...(f.padding ? { snapshotPadding: f.padding } : {})
        }
      })
      const w = world
      const first = w.addIssue(READY, 'Waits for a usable server', [['run']])
      const second = w.addIssue(READY, 'Waits too', [['run']])
      const inputs = {
        ...f.inputs,
        ...(f.dead ? { 't3-url': (await deadUrl()).replace('/hook', '') } : {})
      }
      for (let i = 0; i < 4; i++) {
        const run = await runAction(w.inputs(inputs), w.env(), 120_000)
        expect(run.code).toBe(0)
        expect(run.summary).toMatch(expected)
        expect(run.summary).not.toContain(w.t3.url.replace('http://', ''))
      }
      // The right is only refused when a command is sent: that first claim
      // waits (never counted, never handed back); nothing else is claimed.
      const claimedOne = _name === 'a token without the owner right'
      // (`afk-loop` is the loop's tracking label, added with the in-progress one.)
      expect(w.store.issue(READY, first).labels.filter((l) => l !== 'afk-loop')).toEqual([
        claimedOne ? 'agent-in-progress' : 'ready-for-agent'
      ])
      if (claimedOne) {
        expect(recordOf(w, READY, first)).toMatchObject({
          terminal: null,
          threads: [],
          intent: { failures: 0 }
        })
      } else {
        expect(w.store.issue(READY, first).comments).toHaveLength(0)
      }
      expect(w.store.issue(READY, second).labels).toEqual(['ready-for-agent'])
      expect(w.store.issue(READY, second).comments).toHaveLength(0)
      expect(w.t3.received).toEqual([])
      expect(w.doorbells).toEqual([])
    })
  }
)
