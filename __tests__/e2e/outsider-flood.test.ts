/**
 * Outsiders can't hide the run's own work (issue 15, "read enough linked pull
 * requests"). Anyone can open fork pull requests saying "Closes #N", as many
 * as they like, from any branch name — the run's own included. The committed
 * bundle, against the loopback GitHub and T3, must still find the agent's
 * pull request (same repository, the run's branch) however many of them
 * come before it in the issue's closing list, land it on its own CI, and
 * never fix an outsider's pull request forward.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { startWorld, type World } from '../../sandbox/scenario.js'
import { hasEnded, outcome, recordOf, tickUntil } from '../../__fixtures__/e2e.js'

jest.setTimeout(240_000)
const REPO = 'acme/widgets'
let world: World | null = null
afterEach(async () => {
  await world?.close()
  world = null
})

describe('a flood of outsider fork pull requests closing the issue', () => {
  it.each([0, 205, 215, 250])(
    "%i of them, red, half on the run's own branch name: the run lands on its own green pull request",
    async (outsiders) => {
      world = await startWorld({ repos: [REPO] })
      const w = world
      const n = w.addIssue(REPO, 'Flooded', [['run', 'push:green', 'idle']])
      const spam = new Set<number>()
      for (let i = 0; i < outsiders; i++) {
        spam.add(
          w.forkPullRequest(REPO, n, {
            author: `drive-by-${i}`,
            ...(i % 2 ? { branch: `patch-${i}` } : {}),
            ci: 'red'
          })
        )
      }
      const ticks = await tickUntil(w, () => hasEnded(w, REPO, n))
      expect(outcome(w, REPO, n)).toMatchObject({
        action: 'CLOSE_SUCCESS',
        reason: 'ci-green',
        doorbells: ['done']
      })
      expect(ticks.decisions.filter((d) => d.includes('FIX_FORWARD'))).toEqual([])
      expect(ticks.decisions.filter((d) => d.includes('ESCALATE'))).toEqual([])
      // The pull request the run landed is the agent's, not an outsider's.
      const own = w.store
        .repo(REPO)
        .pulls.filter((p) => !p.isCrossRepository && p.closes.includes(n))
      expect(own).toHaveLength(1)
      expect(spam.has(own[0]?.number ?? -1)).toBe(false)
      const done = w.doorbells.find((d) => d.body.issue === n && d.body.kind === 'done')
      expect(JSON.stringify(done?.body)).toContain(`/pull/${own[0]?.number}`)
      expect(recordOf(w, REPO, n)?.threads).toHaveLength(1)
      // The job summary names a few of the ignored pull requests, not all of them.
      const summaries = ticks.runs.map((r) => r.summary).join('\n')
      if (outsiders > 0) {
        expect(summaries).toMatch(
          /ignored pull request\(s\) (#\d+ by @drive-by-\d+ \(fork, NONE\), ){9}#\d+ by @drive-by-\d+ \(fork, NONE\) and \d+ more:/
        )
      } else expect(summaries).not.toContain('ignored pull request')
      expect(w.github.violations).toEqual([])
    }
  )
})

describe('a flood of outsider pull requests and a Copilot run on its own branch', () => {
  it("215 of them: the run's own pull request, on the branch the task names, is looked up and lands", async () => {
    world = await startWorld({ repos: [REPO], agent: 'copilot' })
    const w = world
    const n = w.addIssue(REPO, 'Flooded, Copilot', [['run', 'idle']])
    for (let i = 0; i < 215; i++) {
      w.forkPullRequest(REPO, n, { author: `drive-by-${i}`, branch: `patch-${i}`, ci: 'red' })
    }
    let own: number | null = null
    const ticks = await tickUntil(w, () => hasEnded(w, REPO, n), {
      inputs: { 'idle-grace': '2s' },
      pauseMs: 1000,
      onTick: () => {
        const task = w.agentTasks.tasks[0]
        if (own !== null || !task) return
        const head = task.headRef
        const commit = w.store.commit(REPO, head, `Fix #${n}`, 'Copilot')
        w.store.setCI(REPO, commit.oid, 'green')
        own = w.store.openPullRequest(REPO, {
          head,
          author: 'Copilot',
          authorAssociation: 'NONE',
          closes: [n],
          title: `Fix #${n}`
        }).number
        // Newer fork pull requests from a branch of the very same name.
        for (let i = 0; i < 6; i++) {
          w.forkPullRequest(REPO, n, { author: `copycat-${i}`, branch: head, ci: 'red' })
        }
      }
    })
    expect(w.agentTasks.tasks[0]?.headRef).toMatch(/^copilot\//)
    expect(outcome(w, REPO, n)).toMatchObject({
      action: 'CLOSE_SUCCESS',
      reason: 'ci-green',
      doorbells: ['done']
    })
    expect(ticks.decisions.filter((d) => d.includes('ESCALATE'))).toEqual([])
    const done = w.doorbells.find((d) => d.body.issue === n && d.body.kind === 'done')
    expect(JSON.stringify(done?.body)).toContain(`/pull/${own}`)
    expect(w.github.violations).toEqual([])
  })
})
