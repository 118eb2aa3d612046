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
