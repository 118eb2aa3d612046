/**
 * A closing-pull-request list cut short (issue 15, "read enough linked pull
 * requests that outsiders can't hide the run's own"): when the adapter says
 * it could not read them all (`pullRequestsComplete: false`) and nothing of
 * the run's is in view, the loop never hands the run back as "idle without a
 * push" — the run's own may be among the unread — it waits, says so, and the
 * runtime deadline still ends it. With the list whole, the same run is
 * handed back as before.
 */
import { describe, expect, it } from '@jest/globals'
import { driveToEnd } from '../../__fixtures__/loop-driver.js'
import { defaultSettings, makeWorld, type FakeWorld } from '../../__fixtures__/loop-world.js'
import type { TickReport } from '../../src/loop/report.js'

const REPO = 'octo/app'

function idleAgentWithOutsiders(cut: boolean): FakeWorld {
  const world = makeWorld()
  world.addIssue(REPO, 1, { script: [['run', 'idle']] })
  world.human.openPullRequest(REPO, 1, 'mallory', { fork: true, branch: 'afk/issue-1' })
  const read = world.github.readWorld
  world.github.readWorld = async () => {
    const facts = await read()
    for (const repo of facts.repos)
      for (const issue of repo.tracked) issue.pullRequestsComplete = !cut
    return facts
  }
  return world
}

const decisions = (reports: TickReport[]) =>
  reports.flatMap((r) => r.rows.map((row) => `${row.action} ${row.reason}`))

describe('a run whose closing pull requests could not all be read', () => {
  it('is not handed back for "idle without a push": it waits, warns, and max-runtime ends it', async () => {
    const world = idleAgentWithOutsiders(true)
    const reports = await driveToEnd(world, defaultSettings(), { step: 600 })
    const seen = decisions(reports)
    expect(seen).toContain('WAIT work-out-of-view')
    // The only ending is the runtime deadline's, never a "nothing pushed" verdict.
    expect(seen.filter((d) => d.startsWith('ESCALATE_PREPUSH'))).toEqual([
      'ESCALATE_PREPUSH runtime-exceeded'
    ])
    expect(world.statusOf(REPO, 1)?.record?.terminal).toMatchObject({ reason: 'runtime-exceeded' })
    expect(reports.flatMap((r) => r.warnings).join('\n')).toMatch(
      /octo\/app#1: not handed back \(agent-idle-without-push\): more pull requests close this issue than afk-loop reads/
    )
  })

  it('with the list whole, the same run is handed back as idle without a push', async () => {
    const world = idleAgentWithOutsiders(false)
    const reports = await driveToEnd(world, defaultSettings(), { step: 600 })
    expect(decisions(reports)).not.toContain('WAIT work-out-of-view')
    expect(world.statusOf(REPO, 1)?.record?.terminal).toMatchObject({
      action: 'ESCALATE_PREPUSH',
      reason: 'agent-idle-without-push'
    })
  })
})

/**
 * A Copilot-like backend pushes to a branch it names itself, not
 * `afk/issue-N`, so the adapter's look-up by the run's branch can't find its
 * pull request when outsiders cut the closing list. The watcher asks for the
 * pull requests of the branch the agent names (once per run per tick, only
 * for a cut list) and the run is driven on its own pull request.
 */
describe('a cut closing list and an agent that names its own branch (Copilot)', () => {
  const COPILOT_BRANCH = (n: number) => `copilot/fix-${n}`

  function copilotFlood(opts: { cut: boolean; lookup: boolean; inView?: boolean }): FakeWorld {
    const world = makeWorld()
    world.agentBranch = COPILOT_BRANCH
    world.addIssue(REPO, 1, {
      script: [
        ['run', 'push:red', 'idle'],
        ['run', 'push:green', 'idle']
      ]
    })
    // An outsider's fork on the very same branch name: never the run's.
    world.human.openPullRequest(REPO, 1, 'mallory', { fork: true, branch: COPILOT_BRANCH(1) })
    if (!opts.lookup) delete world.github.pullRequestsOnBranch
    const read = world.github.readWorld
    world.github.readWorld = async () => {
      const facts = await read()
      if (!opts.cut) return facts
      // The run's own pull request is among the unread (past the 210 read).
      for (const repo of facts.repos)
        for (const issue of repo.tracked) {
          issue.pullRequestsComplete = false
          if (!opts.inView)
            issue.pullRequests = issue.pullRequests.filter((p) => p.isCrossRepository)
        }
      return facts
    }
    return world
  }

  it('finds the run’s own pull request on the agent’s branch: fixes it forward there, then lands it', async () => {
    const world = copilotFlood({ cut: true, lookup: true })
    const reports = await driveToEnd(world, defaultSettings(), { step: 600 })
    const seen = decisions(reports)
    expect(seen).toContain('FIX_FORWARD ci-red')
    expect(seen).not.toContain('WAIT work-out-of-view')
    expect(world.statusOf(REPO, 1)?.record?.terminal).toMatchObject({
      action: 'CLOSE_SUCCESS',
      reason: 'ci-green'
    })
    // The fix-forward continues on the agent's branch, and the doorbell links its pull request.
    expect(world.dispatchCalls.map((d) => d.branch ?? null)).toEqual([null, COPILOT_BRANCH(1)])
    const own = world.issue(REPO, 1).pullRequests.find((p) => !p.isCrossRepository)
    expect(own?.headRefName).toBe(COPILOT_BRANCH(1))
    expect(world.doorbells(REPO, 1).map((d) => [d.kind, d.pullRequestUrl])).toEqual([
      ['done', own?.url]
    ])
    // At most one look-up a tick, always of the agent's branch.
    expect(world.branchLookups.length).toBeGreaterThan(0)
    expect(world.branchLookups.length).toBeLessThanOrEqual(reports.length)
    expect(new Set(world.branchLookups)).toEqual(new Set([`${REPO}:${COPILOT_BRANCH(1)}`]))
  })

  it('without the look-up the same run never sees its pull request: it waits until max-runtime', async () => {
    const world = copilotFlood({ cut: true, lookup: false })
    const reports = await driveToEnd(world, defaultSettings(), { step: 600 })
    expect(decisions(reports)).toContain('WAIT work-out-of-view')
    expect(decisions(reports)).not.toContain('FIX_FORWARD ci-red')
    expect(world.statusOf(REPO, 1)?.record?.terminal).toMatchObject({
      reason: 'runtime-exceeded'
    })
  })

  it('a look-up that fails is warned about, and the run waits rather than being handed back', async () => {
    const world = copilotFlood({ cut: true, lookup: true })
    world.github.pullRequestsOnBranch = async () => {
      throw new Error('HTTP 502 from GitHub')
    }
    const reports = await driveToEnd(world, defaultSettings(), { step: 600 })
    expect(decisions(reports)).toContain('WAIT work-out-of-view')
    expect(world.statusOf(REPO, 1)?.record?.terminal).toMatchObject({
      reason: 'runtime-exceeded'
    })
    expect(reports.flatMap((r) => r.warnings).join('\n')).toContain(
      "octo/app#1: could not read the pull requests of the agent's branch copilot/fix-1: HTTP 502 from GitHub"
    )
  })

  it('reads no branch while the closing list is whole: the tick costs what it did', async () => {
    const world = copilotFlood({ cut: false, lookup: true })
    await driveToEnd(world, defaultSettings(), { step: 600 })
    expect(world.statusOf(REPO, 1)?.record?.terminal).toMatchObject({ reason: 'ci-green' })
    expect(world.branchLookups).toEqual([])
  })

  it("reads no branch when the run's pull request on it is among those read", async () => {
    const world = copilotFlood({ cut: true, lookup: true, inView: true })
    const reports = await driveToEnd(world, defaultSettings(), { step: 600 })
    expect(world.statusOf(REPO, 1)?.record?.terminal).toMatchObject({ reason: 'ci-green' })
    // Only the one tick between the dispatch and the first push looked (nothing was there yet).
    expect(reports.length).toBeGreaterThan(4)
    expect(world.branchLookups).toEqual([`${REPO}:${COPILOT_BRANCH(1)}`])
  })

  it('reads no branch for an agent that pushes to afk/issue-N', async () => {
    const world = idleAgentWithOutsiders(true)
    await driveToEnd(world, defaultSettings(), { step: 600 })
    expect(world.branchLookups).toEqual([])
  })
})
