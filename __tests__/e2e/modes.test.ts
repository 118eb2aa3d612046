/**
 * The switches a maintainer reaches for, through the committed bundle:
 * `stop` (interrupt every agent, hand every run back), `watch` (finish what
 * is in flight, start nothing) and `dry-run` (decide, print, write nothing).
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { startWorld, type World } from '../../sandbox/scenario.js'
import { hasEnded, outcome, recordOf, tickUntil } from '../../__fixtures__/e2e.js'
import { runAction } from '../../sandbox/action-process.js'

jest.setTimeout(240_000)
const REPO = 'acme/widgets'
let world: World | null = null
afterEach(async () => {
  await world?.close()
  world = null
})

/** Tick in `on` mode until every issue has an agent at work. */
async function inFlight(w: World, issues: number[]) {
  await tickUntil(w, () => issues.every((n) => (recordOf(w, REPO, n)?.threads.length ?? 0) > 0))
}

const untouched = (w: World, n: number) => {
  const issue = w.store.issue(REPO, n)
  return { labels: [...issue.labels], comments: issue.comments.length, state: issue.state }
}

const writes = (w: World) => w.github.counts['graphql-write'] + w.github.counts['rest-write']

describe('modes, end to end', () => {
  it('stop: interrupts every agent and hands every run back, once, and claims nothing', async () => {
    world = await startWorld({ repos: [REPO] })
    const w = world
    const running = [
      w.addIssue(REPO, 'One', [['run', 'stall']]),
      w.addIssue(REPO, 'Two', [['run']])
    ]
    await inFlight(w, running)
    const waiting = w.addIssue(REPO, 'Not yet', [['run', 'push:green', 'idle']])

    const { decisions } = await tickUntil(w, () => running.every((n) => hasEnded(w, REPO, n)), {
      inputs: { mode: 'stop' }
    })
    for (const n of running) {
      expect(outcome(w, REPO, n)).toEqual({
        action: 'HAND_BACK',
        reason: 'emergency-stop',
        labels: ['ready-for-human'],
        state: 'OPEN',
        doorbells: ['needs-human']
      })
    }
    // A turn whose session had not started yet shows no latestTurn: its session says it.
    expect([...w.t3.threads.values()].map((t) => t.latestTurn?.state ?? t.session?.status)).toEqual(
      ['interrupted', 'interrupted']
    )
    expect(decisions.filter((d) => d.includes('emergency-stop'))).toHaveLength(2)
    expect(untouched(w, waiting)).toEqual({
      labels: ['ready-for-agent'],
      comments: 0,
      state: 'OPEN'
    })

    // Stopping again is harmless: nothing left to write.
    const before = writes(w)
    const again = await runAction(w.inputs({ mode: 'stop' }), w.env(), 60_000)
    expect(again.code).toBe(0)
    expect(writes(w)).toBe(before)
    expect(w.doorbells).toHaveLength(2)
  })

  it('watch: drives the run in flight to its end and starts no new one', async () => {
    world = await startWorld({ repos: [REPO] })
    const w = world
    const first = w.addIssue(REPO, 'In flight', [['run', 'run', 'push:green', 'idle']])
    await inFlight(w, [first])
    const later = w.addIssue(REPO, 'Filed while draining', [['run', 'push:green', 'idle']])

    await tickUntil(w, () => hasEnded(w, REPO, first), { inputs: { mode: 'watch' } })
    expect(outcome(w, REPO, first)).toMatchObject({ action: 'CLOSE_SUCCESS', doorbells: ['done'] })
    expect(untouched(w, later)).toEqual({ labels: ['ready-for-agent'], comments: 0, state: 'OPEN' })
    expect(w.t3.counts['thread.create']).toBe(1)
  })

  it('dry-run: decides and reports what it would do, and writes nothing anywhere', async () => {
    world = await startWorld({ repos: [REPO] })
    const w = world
    const running = w.addIssue(REPO, 'Working', [['run', 'push:red', 'idle']])
    await inFlight(w, [running])
    // The agent works, pushes a red commit and goes idle: a live tick would fix forward.
    for (let i = 0; i < 3; i++) await w.advance()
    const ready = w.addIssue(REPO, 'Ready', [['run', 'push:green', 'idle']])
    const snapshot = JSON.stringify(w.store.repo(REPO))
    const t3Before = { ...w.t3.counts }
    const writesBefore = writes(w)

    const run = await runAction(w.inputs({ 'dry-run': 'true' }), w.env(), 60_000)
    expect(run.code).toBe(0)
    const rows = JSON.parse(run.outputs.runs ?? '[]') as { issue: number; action: string }[]
    expect(rows.map((r) => [r.issue, r.action])).toEqual(
      expect.arrayContaining([
        [running, 'FIX_FORWARD'],
        [ready, 'CLAIM']
      ])
    )
    expect(run.outputs.summary).toMatch(/dry run/)
    expect(writes(w)).toBe(writesBefore)
    expect(JSON.stringify(w.store.repo(REPO))).toBe(snapshot)
    expect({ ...w.t3.counts, snapshot: 0 }).toEqual({ ...t3Before, snapshot: 0 })
    expect(w.doorbells).toHaveLength(0)
  })
})
