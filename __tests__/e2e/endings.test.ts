/**
 * Real-world endings through the committed bundle, against the loopback
 * GitHub and T3 (issue 14's "Done when"): the agent's pull request merged by
 * auto-merge before any tick sees CI green lands with one `done`; a trunk
 * "Fixes #N" that closes the issue on push lands; an issue queued again after
 * landing waits for a new commit instead of landing on its old one; a
 * 3,000-character agent error hands the run back within the dispatch-failure
 * budget, with a status comment under GitHub's size limit.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { projectFor } from '../../sandbox/t3/server.js'
import { LOOP_LOGIN, startWorld, type World } from '../../sandbox/scenario.js'
import { hasEnded, outcome, recordOf, tickUntil } from '../../__fixtures__/e2e.js'

jest.setTimeout(240_000)
const REPO = 'acme/widgets'
const GITHUB_COMMENT_LIMIT = 65_536
let world: World | null = null
afterEach(async () => {
  await world?.close()
  world = null
})

describe('run endings through the bundle', () => {
  // A merge commit names the pull request as the issue's closer; a squash merge
  // can name its squash commit instead. Either way the run delivered.
  it.each([
    ['auto-merge', 'pull'],
    ['auto-squash', 'commit']
  ] as const)(
    '%s before green: landed, one `done`, the issue closed by the merge (closer: %s)',
    async (onPush, closer) => {
      world = await startWorld({ repos: [REPO], onPush })
      const w = world
      const n = w.addIssue(REPO, 'Auto-merged', [['run', 'push:green', 'idle']])
      const { decisions } = await tickUntil(w, () => hasEnded(w, REPO, n))
      expect(outcome(w, REPO, n)).toEqual({
        action: 'CLOSE_SUCCESS',
        reason: 'ci-green',
        labels: [],
        state: 'CLOSED',
        doorbells: ['done']
      })
      expect(decisions.join('\n')).not.toMatch(/RELEASE|issue-closed-by-human/)
      const merged = w.store.repo(REPO).pulls.find((p) => p.headRefName === `afk/issue-${n}`)
      expect(merged?.state).toBe('MERGED')
      const closed = w.store.issue(REPO, n).events.filter((e) => e.type === 'ClosedEvent')
      expect(closed.map((e) => e.closer?.kind)).toEqual([closer])
      expect(w.github.violations).toEqual([])
    }
  )

  it('trunk "Fixes #N" closing the issue on push: landed, one `done`', async () => {
    world = await startWorld({ repos: [REPO], delivery: 'trunk', onPush: 'fixes' })
    const w = world
    const n = w.addIssue(REPO, 'Fixed on trunk', [['run', 'push:green', 'idle']])
    await tickUntil(w, () => hasEnded(w, REPO, n))
    expect(outcome(w, REPO, n)).toEqual({
      action: 'CLOSE_SUCCESS',
      reason: 'ci-green',
      labels: [],
      state: 'CLOSED',
      doorbells: ['done']
    })
    // GitHub closed it, by the agent's commit; the loop closed nothing itself.
    const closed = w.store.issue(REPO, n).events.filter((e) => e.type === 'ClosedEvent')
    expect(closed.map((e) => [e.actor, e.closer?.kind])).toEqual([['afk-agent', 'commit']])
  })

  it('queued again after landing: waits for a new commit, then lands on it', async () => {
    world = await startWorld({ repos: [REPO] })
    const w = world
    const n = w.addIssue(REPO, 'Sent back by review', [
      ['run', 'push:green', 'idle'],
      ['run', 'run', 'run', 'run', 'push:green', 'idle']
    ])
    await tickUntil(w, () => hasEnded(w, REPO, n))
    const first = recordOf(w, REPO, n)
    expect(first?.terminal?.action).toBe('CLOSE_SUCCESS')
    const oldSha = first?.commit?.sha
    w.store.addLabel(w.store.repo(REPO), w.store.issue(REPO, n), 'ready-for-agent', 'maintainer')

    // Four ticks from the claim on: the agent works, pushes nothing new.
    let sinceClaim = 0
    const waited = await tickUntil(w, () => sinceClaim >= 4, {
      maxTicks: 6,
      onTick: () => {
        if (recordOf(w, REPO, n)?.runKey !== first?.runKey) sinceClaim++
      }
    })
    expect(waited.decisions.filter((d) => d.startsWith(`#${n} CLOSE_SUCCESS`))).toEqual([])
    expect(recordOf(w, REPO, n)).toMatchObject({ terminal: null, commit: null, baseline: [oldSha] })

    await tickUntil(w, () => hasEnded(w, REPO, n))
    const second = recordOf(w, REPO, n)
    expect(second?.terminal).toMatchObject({ action: 'CLOSE_SUCCESS', reason: 'ci-green' })
    expect(second?.commit?.sha).not.toBe(oldSha)
    expect(outcome(w, REPO, n).doorbells).toEqual(['done', 'done'])
  })

  it('a 3,000-character agent error: handed back within the dispatch-failure budget, comment under the limit', async () => {
    // The T3 server names a project the loop quotes in its error: 3,000 characters of it.
    const longId = `proj-${'x'.repeat(3000)}`
    world = await startWorld({ repos: [REPO], t3: { projects: [projectFor(REPO, longId, null)] } })
    const w = world
    const n = w.addIssue(REPO, 'Unstartable', [['run']])
    const { runs } = await tickUntil(w, () => hasEnded(w, REPO, n), { maxTicks: 3 })
    expect(runs.length).toBeLessThanOrEqual(3)
    expect(outcome(w, REPO, n)).toEqual({
      action: 'HAND_BACK',
      reason: 'dispatch-failed',
      labels: ['ready-for-human'],
      state: 'OPEN',
      doorbells: ['needs-human']
    })
    const body = w.store.issue(REPO, n).comments.find((c) => c.author === LOOP_LOGIN)?.body ?? ''
    expect(body.length).toBeLessThan(GITHUB_COMMENT_LIMIT)
    expect(body).toContain('proj-xxxx')
    expect(recordOf(w, REPO, n)?.terminal?.detail?.length).toBeLessThanOrEqual(500)
    expect(w.github.violations).toEqual([])
  })
})
