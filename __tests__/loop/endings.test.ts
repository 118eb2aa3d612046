/**
 * Real-world run endings (issue 14) and the trust boundary of the run's work
 * (issue 15, items 1 and 2), one `describe` per finding, each reproduced
 * against the loop's fixtures: auto-merge and "Fixes #N" are deliveries,
 * re-queued issues wait for new work, long errors can't wedge a run, pushed
 * or not picks the doorbell, a claim clears a leftover human label, a
 * half-applied end is finished as the end it was, the delivery recorded at
 * the claim rules, label names ignore case, the global cap counts unreadable
 * repositories, the mention is a new comment posted once, fork pull requests
 * are never the run's work, outsiders' pull requests take nothing over.
 */
import { describe, expect, it } from '@jest/globals'
import { decode } from '../../src/core/bookkeeping.js'
import { noticeMarker } from '../../src/core/checklist.js'
import { sameLabel } from '../../src/core/evidence.js'
import { PartialWriteError, type RunChange } from '../../src/loop/ports.js'
import { tick, type TickSettings } from '../../src/loop/tick.js'
import type { TickReport } from '../../src/loop/report.js'
import { driveToEnd } from '../../__fixtures__/loop-driver.js'
import {
  defaultSettings,
  makeWorld,
  VIEWER,
  type AgentStep,
  type FakeWorld
} from '../../__fixtures__/loop-world.js'

const REPO = 'octo/app'
const GITHUB_COMMENT_LIMIT = 65_536

const record = (world: FakeWorld, n = 1) => world.statusOf(REPO, n)?.record ?? null
const terminal = (world: FakeWorld, n = 1) => record(world, n)?.terminal ?? null
const kinds = (world: FakeWorld, n = 1) => world.doorbells(REPO, n).map((d) => d.kind)
/** What each tick decided, leaving out ended runs with nothing left to do. */
const decisions = (reports: TickReport[]) =>
  reports.flatMap((r) =>
    r.rows
      .filter((row) => row.action !== 'DONE')
      .map((row) => `#${row.issue} ${row.action} ${row.reason}`)
  )

/** Tick, then let time pass: `n` times. */
async function ticks(world: FakeWorld, settings: TickSettings, n: number): Promise<TickReport[]> {
  const reports: TickReport[] = []
  for (let i = 0; i < n; i++) {
    reports.push(await tick(settings, world.ports()))
    world.advance()
  }
  return reports
}

/** Every change sent to GitHub, in order. */
function recordChanges(world: FakeWorld): RunChange[] {
  const changes: RunChange[] = []
  const apply = world.github.apply
  world.github.apply = async (change) => {
    changes.push(change)
    return apply(change)
  }
  return changes
}

/** Land issue #1 with a pull request left open, then queue it again. */
async function landedThenQueuedAgain(script: AgentStep[][]): Promise<FakeWorld> {
  const world = makeWorld()
  world.addIssue(REPO, 1, { script: [['run', 'push:green', 'idle']] })
  await driveToEnd(world, defaultSettings())
  expect(terminal(world)?.action).toBe('CLOSE_SUCCESS')
  expect(world.issue(REPO, 1).pullRequests[0]?.state).toBe('OPEN')
  world.human.addLabel(REPO, 1, 'ready-for-agent')
  world.issue(REPO, 1).script = script
  return world
}

describe('14.1 the run’s own merge or "Fixes #N" commit closing the issue is a delivery', () => {
  it('auto-merge before a tick sees green: landed, one `done`, the issue stays closed', async () => {
    const world = makeWorld()
    world.onPush = 'auto-merge'
    world.addIssue(REPO, 1, { script: [['run', 'push:green', 'idle']] })
    const reports = await driveToEnd(world, defaultSettings())
    expect(terminal(world)).toMatchObject({ action: 'CLOSE_SUCCESS', reason: 'ci-green' })
    expect(kinds(world)).toEqual(['done'])
    expect(decisions(reports).join('\n')).not.toMatch(/RELEASE|issue-closed-by-human/)
    expect(world.issue(REPO, 1).state).toBe('CLOSED')
    expect(world.issue(REPO, 1).labels).toEqual([])
  })

  it('auto-merge by squash, GitHub naming the squash commit as closer: landed, one `done`', async () => {
    const world = makeWorld()
    world.onPush = 'auto-squash'
    world.addIssue(REPO, 1, { script: [['run', 'push:green', 'idle']] })
    const reports = await driveToEnd(world, defaultSettings())
    expect(world.issue(REPO, 1).closer?.kind).toBe('commit')
    expect(terminal(world)).toMatchObject({ action: 'CLOSE_SUCCESS', reason: 'ci-green' })
    expect(kinds(world)).toEqual(['done'])
    expect(decisions(reports).join('\n')).not.toMatch(/RELEASE|issue-closed-by-human/)
  })

  it('merged red: fixes forward without reopening, then lands on the fix', async () => {
    const world = makeWorld()
    world.onPush = 'auto-merge'
    world.addIssue(REPO, 1, {
      script: [
        ['run', 'push:red', 'idle'],
        ['run', 'push:green', 'idle']
      ]
    })
    const changes = recordChanges(world)
    const reports = await driveToEnd(world, defaultSettings())
    const [redSha] = [...world.ci.keys()]
    expect(decisions(reports)).toContain('#1 FIX_FORWARD ci-red')
    // The operator's words first, then the issue's text fenced as untrusted
    // (each fix-forward turn is a fresh agent that would otherwise read the raw issue).
    expect(world.dispatchCalls[1]?.prompt?.split('\n\n')[0]).toBe(`Fix ${redSha} (attempt 1)`)
    expect(world.dispatchCalls[1]?.prompt).toMatch(
      /\nBody of 1\n<\/untrusted-issue-text [0-9a-f]{16}>$/
    )
    expect(terminal(world)).toMatchObject({ action: 'CLOSE_SUCCESS', reason: 'ci-green' })
    expect(kinds(world)).toEqual(['done'])
    expect(world.issue(REPO, 1).state).toBe('CLOSED')
    expect(changes.some((c) => c.close)).toBe(false)
  })

  it('merged red with the budget spent: frozen, handed back, never reopened', async () => {
    const world = makeWorld()
    world.onPush = 'auto-merge'
    world.addIssue(REPO, 1, { script: [['run', 'push:red', 'idle']] })
    await driveToEnd(world, defaultSettings())
    expect(terminal(world)).toMatchObject({
      action: 'FREEZE_ESCALATE',
      reason: 'fix-forward-budget-spent'
    })
    expect(kinds(world)).toEqual(['frozen'])
    expect(world.issue(REPO, 1)).toMatchObject({ state: 'CLOSED', labels: ['ready-for-human'] })
  })

  it('trunk: the agent’s "Fixes #N" closes the issue on push; the run lands with `done`', async () => {
    const world = makeWorld()
    world.settingsDelivery = 'trunk'
    world.onPush = 'fixes'
    world.addIssue(REPO, 1, { script: [['run', 'push:green', 'idle']] })
    const changes = recordChanges(world)
    await driveToEnd(world, defaultSettings({ delivery: 'trunk' }))
    expect(terminal(world)).toMatchObject({ action: 'CLOSE_SUCCESS', reason: 'ci-green' })
    expect(kinds(world)).toEqual(['done'])
    expect(world.issue(REPO, 1).state).toBe('CLOSED')
    // GitHub already closed it: the loop doesn't close it again.
    expect(changes.some((c) => c.close)).toBe(false)
  })

  it('a human closing by hand is still a takeover', async () => {
    const world = makeWorld()
    world.addIssue(REPO, 1, { script: [['run', 'run', 'push:pending']] })
    await ticks(world, defaultSettings(), 3)
    world.human.close(REPO, 1)
    await tick(defaultSettings(), world.ports())
    expect(terminal(world)).toMatchObject({ action: 'RELEASE', reason: 'issue-closed-by-human' })
    expect(kinds(world)).toEqual([])
  })

  it('an older run’s pull request merged by a human after the claim is a takeover, not a delivery', async () => {
    const world = await landedThenQueuedAgain([['run', 'run', 'run', 'run']])
    await ticks(world, defaultSettings(), 2)
    const old = world.issue(REPO, 1).pullRequests[0]
    world.human.merge(REPO, 1, old?.number ?? 0)
    await tick(defaultSettings(), world.ports())
    expect(terminal(world)).toMatchObject({ action: 'RELEASE', reason: 'issue-closed-by-human' })
  })
})

describe('14.2 only commits pushed after the current claim are the run’s work', () => {
  it('re-queued after landing: the open, green pull request of the old run does not land the new one', async () => {
    const world = await landedThenQueuedAgain([['run', 'run', 'run', 'push:green', 'idle']])
    const oldSha = world.issue(REPO, 1).pullRequests[0]?.headSha
    const reports = await ticks(world, defaultSettings(), 4)
    expect(decisions(reports)).toEqual([
      '#1 CLAIM claimed',
      '#1 WAIT agent-working',
      '#1 WAIT agent-working',
      '#1 WAIT agent-working'
    ])
    expect(world.interrupts).toHaveLength(0)
    expect(record(world)?.baseline).toEqual([oldSha])
    await driveToEnd(world, defaultSettings())
    expect(terminal(world)).toMatchObject({ action: 'CLOSE_SUCCESS', reason: 'ci-green' })
    expect(record(world)?.commit?.sha).not.toBe(oldSha)
    expect(kinds(world)).toEqual(['done', 'done'])
  })

  it('re-queued after a freeze whose CI later turned green: waits for a new commit', async () => {
    const world = makeWorld()
    world.addIssue(REPO, 1, { script: [['run', 'push:red', 'idle']] })
    await driveToEnd(world, defaultSettings())
    expect(terminal(world)?.action).toBe('FREEZE_ESCALATE')
    const frozenSha = world.issue(REPO, 1).pullRequests[0]?.headSha ?? ''
    world.ci.set(frozenSha, { now: 'green', next: 'green' }) // a human re-ran CI
    world.human.removeLabel(REPO, 1, 'ready-for-human')
    world.human.addLabel(REPO, 1, 'ready-for-agent')
    world.issue(REPO, 1).script = [['run', 'run', 'run', 'run']]
    const reports = await ticks(world, defaultSettings(), 4)
    expect(decisions(reports).filter((d) => d.includes('CLOSE_SUCCESS'))).toEqual([])
    expect(record(world)?.terminal).toBeNull()
    expect(record(world)?.commit).toBeNull()
  })

  it('trunk: a commit from before the claim is not the run’s work', async () => {
    const world = makeWorld()
    world.settingsDelivery = 'trunk'
    world.addIssue(REPO, 1, { script: [['run', 'run', 'run']] })
    world.issue(REPO, 1).trunkCommits.push({
      sha: 'f'.repeat(40),
      url: `https://github.com/${REPO}/commit/${'f'.repeat(40)}`,
      message: 'Old work (#1)',
      committedAt: new Date(world.now.getTime() - 3600_000).toISOString(),
      ci: { status: 'green', url: null }
    })
    const reports = await ticks(world, defaultSettings({ delivery: 'trunk' }), 3)
    expect(decisions(reports)).toEqual([
      '#1 CLAIM claimed',
      '#1 WAIT agent-working',
      '#1 WAIT agent-working'
    ])
  })
})

describe('14.3 a long dispatch error can’t wedge a run', () => {
  it('a 3,000-character error hands the run back within the dispatch-failure budget', async () => {
    const world = makeWorld()
    world.addIssue(REPO, 1)
    world.dispatchError = `T3 said: ${'x'.repeat(3000)}`
    const reports = await driveToEnd(world, defaultSettings(), { maxTicks: 10 })
    expect(reports).toHaveLength(3)
    expect(terminal(world)).toMatchObject({ action: 'HAND_BACK', reason: 'dispatch-failed' })
    expect(kinds(world)).toEqual(['needs-human'])
    expect(world.issue(REPO, 1).labels).toEqual(['ready-for-human'])
    const body = world.statusOf(REPO, 1)?.body ?? ''
    expect(body.length).toBeLessThan(GITHUB_COMMENT_LIMIT)
    expect(decode(body).kind).toBe('ok')
    expect(body).toContain('T3 said: xxx')
    // The slot is free again: nothing else holds it.
    expect(
      reports.flatMap((r) => r.rows).filter((r) => r.error !== null && r.action === 'ERROR')
    ).toEqual([])
  })
})

describe('14.4 pushed or not decides needs-human vs frozen on every hand-back', () => {
  it('a pushed run whose fix-forward dispatch keeps failing is frozen, not "before pushing anything"', async () => {
    const world = makeWorld()
    world.addIssue(REPO, 1, { script: [['run', 'push:red', 'idle']] })
    await tick(defaultSettings(), world.ports())
    world.dispatchError = 'T3 answered 500'
    world.advance()
    await driveToEnd(world, defaultSettings(), { maxTicks: 12 })
    expect(terminal(world)).toMatchObject({ action: 'HAND_BACK', reason: 'dispatch-failed' })
    expect(kinds(world)).toEqual(['frozen'])
    expect(world.statusOf(REPO, 1)?.body).not.toContain('before pushing anything')
  })

  it('the emergency stop of a pushed run rings `frozen`, of an unpushed one `needs-human`', async () => {
    const world = makeWorld()
    world.addIssue(REPO, 1, { script: [['run', 'push:pending', 'run', 'run']] })
    world.addIssue(REPO, 2, { script: [['run', 'run', 'run', 'run']] })
    await ticks(world, defaultSettings(), 3)
    await tick(defaultSettings({ mode: 'stop' }), world.ports())
    expect(kinds(world, 1)).toEqual(['frozen'])
    expect(kinds(world, 2)).toEqual(['needs-human'])
  })
})

describe('14.5 claiming removes a leftover human label and says so', () => {
  it.each([['ready-for-human'], ['Ready-For-Human']])(
    'queued again with %s still on: claimed, label removed, not released next tick',
    async (leftover) => {
      const world = makeWorld()
      world.addIssue(REPO, 1, { script: [['run', 'error']] })
      await driveToEnd(world, defaultSettings())
      world.issue(REPO, 1).labels = [leftover]
      world.human.addLabel(REPO, 1, 'ready-for-agent')
      world.issue(REPO, 1).script = [['run', 'run', 'run']]
      const reports = await ticks(world, defaultSettings(), 2)
      expect(decisions(reports)).toEqual(['#1 CLAIM claimed', '#1 WAIT agent-working'])
      expect(world.issue(REPO, 1).labels).toEqual(['agent-in-progress'])
      expect(world.statusOf(REPO, 1)?.body).toContain(
        'removed the leftover `ready-for-human` label'
      )
    }
  )
})

describe('14.6 a half-applied terminal write is finished as the end it was', () => {
  it('labels changed but the comment update failed: the next tick rings the doorbell', async () => {
    const world = makeWorld()
    world.addIssue(REPO, 1, { script: [['run', 'error']] })
    const apply = world.github.apply
    let failed = false
    world.github.apply = async (change) => {
      if (!failed && change.comment?.body.includes('### afk-loop: handed back')) {
        failed = true
        // GitHub runs each field of the mutation on its own: the labels apply,
        // the comment update fails.
        const { comment: _dropped, ...rest } = change
        if (rest.addLabels || rest.removeLabels || rest.close) {
          await apply(rest)
          throw new PartialWriteError('comment failed', ['labels'], ['comment'])
        }
        throw new Error('HTTP 502 updating the comment')
      }
      return apply(change)
    }
    const reports = await driveToEnd(world, defaultSettings())
    expect(failed).toBe(true)
    expect(decisions(reports).join('\n')).not.toMatch(/RELEASE|human-label-added/)
    expect(terminal(world)).toMatchObject({ action: 'ESCALATE_PREPUSH', reason: 'agent-error' })
    expect(kinds(world)).toEqual(['needs-human'])
    expect(world.issue(REPO, 1).labels).toEqual(['ready-for-human'])
  })

  it('a tick that dies between the record and the labels: the next finishes the end, doorbell included', async () => {
    const world = makeWorld()
    world.addIssue(REPO, 1, { script: [['run', 'error']] })
    const apply = world.github.apply
    let died = false
    world.github.apply = async (change) => {
      const result = await apply(change)
      if (!died && change.comment?.body.includes('### afk-loop: handed back')) {
        died = true
        throw new Error('the runner was cancelled')
      }
      return result
    }
    await driveToEnd(world, defaultSettings())
    expect(died).toBe(true)
    expect(terminal(world)).toMatchObject({ action: 'ESCALATE_PREPUSH', reason: 'agent-error' })
    expect(kinds(world)).toEqual(['needs-human'])
    expect(world.issue(REPO, 1).labels).toEqual(['ready-for-human'])
  })
})

describe('14.7 the delivery recorded at the claim rules the run to its end', () => {
  it('claimed under trunk, the input switched to pull-request: lands on the trunk commit and closes', async () => {
    const world = makeWorld()
    world.settingsDelivery = 'trunk'
    world.addIssue(REPO, 1, { script: [['run', 'push:green', 'idle']] })
    await tick(defaultSettings({ delivery: 'trunk' }), world.ports())
    world.advance()
    await driveToEnd(world, defaultSettings({ delivery: 'pull-request' }))
    expect(record(world)?.delivery).toBe('trunk')
    expect(terminal(world)).toMatchObject({ action: 'CLOSE_SUCCESS', reason: 'ci-green' })
    expect(world.issue(REPO, 1).state).toBe('CLOSED')
  })
})

describe('14.8 one rule for label names: GitHub’s, without case', () => {
  it('an in-progress label shown in another case is still the in-progress label', async () => {
    const world = makeWorld()
    world.addIssue(REPO, 1, { script: [['run', 'run', 'run', 'run']] })
    await ticks(world, defaultSettings(), 1)
    const issue = world.issue(REPO, 1)
    issue.labels = issue.labels.map((l) =>
      sameLabel(l, 'agent-in-progress') ? 'Agent-In-Progress' : l
    )
    const reports = await ticks(world, defaultSettings(), 2)
    expect(decisions(reports)).toEqual(['#1 WAIT agent-working', '#1 WAIT agent-working'])
  })

  it('configured labels in another case than the repository’s: runs end with the right labels', async () => {
    const world = makeWorld()
    world.addIssue(REPO, 1, { labels: ['Ready-For-Agent'], script: [['run', 'error']] })
    const settings = defaultSettings({
      labels: {
        ready: 'READY-for-agent',
        inProgress: 'Agent-In-Progress',
        human: 'READY-FOR-HUMAN'
      }
    })
    await driveToEnd(world, settings)
    expect(terminal(world)).toMatchObject({ action: 'ESCALATE_PREPUSH', reason: 'agent-error' })
    expect(world.issue(REPO, 1).labels.map((l) => l.toLowerCase())).toEqual(['ready-for-human'])
    expect(kinds(world)).toEqual(['needs-human'])
  })

  it('a human label added in another case is a takeover', async () => {
    const world = makeWorld()
    world.addIssue(REPO, 1, { script: [['run', 'run', 'run']] })
    await ticks(world, defaultSettings(), 2)
    world.human.addLabel(REPO, 1, 'Ready-For-Human')
    await tick(defaultSettings(), world.ports())
    expect(terminal(world)).toMatchObject({ action: 'RELEASE', reason: 'human-label-added' })
  })
})

describe('14.9 max-concurrent counts the runs of repositories it couldn’t read', () => {
  it('a repository that can’t be read holds its slots: no claim past the global cap', async () => {
    const world = makeWorld()
    world.addIssue('octo/a', 1, { script: [['run', 'run', 'run']] })
    world.addIssue('octo/b', 2)
    const settings = defaultSettings({ maxConcurrent: 1, maxConcurrentPerRepo: 1 })
    await tick(settings, world.ports())
    expect(world.dispatchCalls.map((d) => d.issue)).toEqual([1])
    world.unreadable.add('octo/a')
    world.advance()
    const report = await tick(settings, world.ports())
    expect(world.dispatchCalls.map((d) => d.issue)).toEqual([1])
    expect(report.rows.find((r) => r.issue === 2)?.note).toMatch(
      /max-concurrent \(1\).*1 slot\(s\) for 1 repository\(ies\) that couldn't be read/
    )
    // Readable again: the cap is the runs it sees.
    world.unreadable.clear()
    world.advance()
    const next = await tick(
      defaultSettings({ maxConcurrent: 2, maxConcurrentPerRepo: 1 }),
      world.ports()
    )
    expect(next.rows.find((r) => r.issue === 2)?.action).toBe('CLAIM')
  })

  it('the points budget and the unreadable repository’s share are separate limits', async () => {
    const world = makeWorld()
    world.addRepo('octo/a')
    world.addIssue('octo/b', 2)
    world.addIssue('octo/b', 3)
    world.unreadable.add('octo/a')
    const read = world.github.readWorld
    // Points for exactly one claim (a claim needs 3; 10 are kept in reserve).
    world.github.readWorld = async () => ({ ...(await read()), points: { remaining: 13 } }) as never
    const report = await tick(
      defaultSettings({ maxConcurrent: 5, maxConcurrentPerRepo: 2 }),
      world.ports()
    )
    expect(report.rows.map((r) => [r.issue, r.action])).toEqual([
      [2, 'CLAIM'],
      [3, 'SKIP']
    ])
    expect(report.rows[1]?.note).toMatch(/points left this tick pay for 1 claim/)
  })

  it('with room beyond the unreadable repository’s share, claims go on', async () => {
    const world = makeWorld()
    world.addRepo('octo/a')
    world.addIssue('octo/b', 2)
    world.unreadable.add('octo/a')
    const report = await tick(
      defaultSettings({ maxConcurrent: 2, maxConcurrentPerRepo: 1 }),
      world.ports()
    )
    expect(report.rows.find((r) => r.issue === 2)?.action).toBe('CLAIM')
  })
})

describe('14.10 the mention reaches people: a short new comment, posted once', () => {
  const settings = defaultSettings({ mention: '@octo/team' })
  const notices = (world: FakeWorld) =>
    world
      .issue(REPO, 1)
      .comments.filter((c) => c.author === VIEWER && c.body.includes('afk-loop:notice'))

  it('at the end, a new comment mentions the team and links the status comment', async () => {
    const world = makeWorld()
    world.addIssue(REPO, 1, { script: [['run', 'push:green', 'idle']] })
    await driveToEnd(world, settings)
    const [notice, ...more] = notices(world)
    expect(more).toEqual([])
    expect(notice?.body).toMatch(/^@octo\/team afk-loop: this run landed\./)
    expect(notice?.body).toContain(noticeMarker(`${record(world)?.runKey}-done`))
    expect(world.statusOf(REPO, 1)?.body).not.toContain('@octo/team')
    expect(record(world)?.outbox[0]?.delivered.sort()).toEqual(['mention', 'webhook'])
  })

  it('exactly once, whichever side effect the process died after', async () => {
    const reference = makeWorld()
    reference.addIssue(REPO, 1, { script: [['run', 'error']] })
    await driveToEnd(reference, settings)
    for (let k = 1; k <= reference.effectCount; k++) {
      const world = makeWorld()
      world.addIssue(REPO, 1, { script: [['run', 'error']] })
      world.crashAfter(k)
      await driveToEnd(world, settings)
      expect({ k, notices: notices(world).length }).toEqual({ k, notices: 1 })
      expect({ k, doorbells: kinds(world) }).toEqual({ k, doorbells: ['needs-human'] })
    }
  })

  it('a failing receiver does not post the notice again', async () => {
    const world = makeWorld()
    world.addIssue(REPO, 1, { script: [['run', 'error']] })
    world.notifierFails = true
    await ticks(world, settings, 5)
    world.notifierFails = false
    await driveToEnd(world, settings, { step: 3600 })
    expect(notices(world)).toHaveLength(1)
    expect(kinds(world)).toEqual(['needs-human'])
  })
})

describe('15.1 a fork pull request is never the run’s work', () => {
  async function runWithFork(ci: 'green' | 'red', association: 'NONE' | 'MEMBER' = 'NONE') {
    const world = makeWorld()
    world.addIssue(REPO, 1, { script: [['run', 'run', 'idle']] })
    await ticks(world, defaultSettings(), 1)
    const fork = world.human.openPullRequest(REPO, 1, 'mallory', {
      fork: true,
      branch: 'afk/issue-1',
      association
    })
    world.ci.set(fork.headSha, { now: ci, next: ci })
    const reports = await driveToEnd(world, defaultSettings(), { step: 600 })
    return { world, fork, reports }
  }

  it('named afk/issue-N with green CI, it doesn’t land the run', async () => {
    const { world, fork, reports } = await runWithFork('green')
    expect(decisions(reports).join('\n')).not.toMatch(/CLOSE_SUCCESS/)
    expect(terminal(world)).toMatchObject({
      action: 'ESCALATE_PREPUSH',
      reason: 'agent-idle-without-push'
    })
    expect(world.deliveries.map((d) => d.notification.pullRequestUrl)).not.toContain(fork.url)
    expect(record(world)?.commit).toBeNull()
  })

  it('with red CI, it is never fixed forward', async () => {
    const { world, fork } = await runWithFork('red')
    expect(world.dispatchCalls.map((d) => d.attempt)).toEqual([0])
    expect(world.dispatchCalls.map((d) => d.prompt).join('\n')).not.toContain(fork.headSha)
  })

  it('by a trusted member, it is someone else’s pull request: a takeover', async () => {
    const { world } = await runWithFork('green', 'MEMBER')
    expect(terminal(world)).toMatchObject({
      action: 'RELEASE',
      reason: 'pull-request-by-someone-else'
    })
  })
})

describe('15.2 an outsider’s pull request takes nothing over and blocks no claim', () => {
  it('an in-flight run goes on; the summary notes the ignored pull request', async () => {
    const world = makeWorld()
    world.addIssue(REPO, 1, { script: [['run', 'run', 'push:green', 'idle']] })
    await ticks(world, defaultSettings(), 1)
    world.human.openPullRequest(REPO, 1, 'mallory', { fork: true, association: 'NONE' })
    const report = await tick(defaultSettings(), world.ports())
    expect(report.rows[0]).toMatchObject({ action: 'WAIT' })
    expect(report.rows[0]?.note).toMatch(
      /ignored pull request\(s\) #\d+ by @mallory \(fork, NONE\)/
    )
    await driveToEnd(world, defaultSettings())
    expect(terminal(world)).toMatchObject({ action: 'CLOSE_SUCCESS', reason: 'ci-green' })
    const own = world.issue(REPO, 1).pullRequests.find((p) => p.headRefName === 'afk/issue-1')
    expect(world.deliveries[0]?.notification.pullRequestUrl).toBe(own?.url)
  })

  it('a ready issue with an outsider’s pull request is claimed; a collaborator’s still blocks it', async () => {
    const world = makeWorld()
    world.addIssue(REPO, 1)
    world.addIssue(REPO, 2)
    world.human.openPullRequest(REPO, 1, 'mallory', { association: 'FIRST_TIME_CONTRIBUTOR' })
    world.human.openPullRequest(REPO, 2, 'colleague', { association: 'COLLABORATOR' })
    const report = await tick(defaultSettings(), world.ports())
    expect(report.rows.map((r) => [r.issue, r.action])).toEqual([
      [1, 'CLAIM'],
      [2, 'SKIP']
    ])
    expect(report.rows[0]?.note).toMatch(/ignored pull request\(s\).*@mallory/)
    expect(report.rows[1]?.note).toMatch(/a pull request by someone else closes it/)
  })
})
