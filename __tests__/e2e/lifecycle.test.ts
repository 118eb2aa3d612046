/**
 * The committed bundle, tick after tick, against the loopback GitHub and T3:
 * the pilot's story and every way a run can end, asserted on the sandbox's
 * final state. Deadlines are seconds here so they pass in real time.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { startWorld, type PlanStep, type World } from '../../sandbox/scenario.js'
import { hasEnded, outcome, tickUntil } from '../../__fixtures__/e2e.js'

jest.setTimeout(240_000)
const REPO = 'acme/widgets'
let world: World | null = null
afterEach(async () => {
  await world?.close()
  world = null
})

const FAST_DEADLINES = {
  'max-fix-forward': '1',
  'ci-start-timeout': '4s',
  'idle-grace': '3s',
  // Claiming eight issues takes ~16 s (writes are a second apart): stalls are tested below.
  'prepush-timeout': '5m',
  'max-runtime': '10m'
}

interface Case {
  name: string
  plan: PlanStep[][]
  action: string
  reason: string
  doorbell: string
}

const CASES: Case[] = [
  {
    name: 'lands at once',
    plan: [['run', 'push:green', 'idle']],
    action: 'CLOSE_SUCCESS',
    reason: 'ci-green',
    doorbell: 'done'
  },
  {
    name: 'red, fix forward, green',
    plan: [
      ['run', 'push:red', 'idle'],
      ['run', 'push:green', 'idle']
    ],
    action: 'CLOSE_SUCCESS',
    reason: 'ci-green',
    doorbell: 'done'
  },
  {
    name: 'budget spent',
    plan: [
      ['run', 'push:red', 'idle'],
      ['run', 'push:red', 'idle']
    ],
    action: 'FREEZE_ESCALATE',
    reason: 'fix-forward-budget-spent',
    doorbell: 'frozen'
  },
  {
    name: 'CI never starts',
    plan: [['run', 'push:missing', 'idle']],
    action: 'FREEZE_ESCALATE',
    reason: 'ci-never-started',
    doorbell: 'frozen'
  },
  {
    name: 'CI blocked',
    plan: [['run', 'push:blocked', 'idle']],
    action: 'FREEZE_ESCALATE',
    reason: 'ci-needs-approval',
    doorbell: 'frozen'
  },
  {
    name: 'agent error',
    plan: [['run', 'error']],
    action: 'ESCALATE_PREPUSH',
    reason: 'agent-error',
    doorbell: 'needs-human'
  },
  {
    name: 'idle without push',
    plan: [['run', 'idle']],
    action: 'ESCALATE_PREPUSH',
    reason: 'agent-idle-without-push',
    doorbell: 'needs-human'
  }
]

describe('the bundle end to end', () => {
  it('drives every kind of run to its end in one repository: landed, frozen or needs-human', async () => {
    world = await startWorld({ repos: [REPO] })
    const w = world
    const issues = CASES.map((c) => w.addIssue(REPO, c.name, c.plan))
    const { decisions } = await tickUntil(w, () => issues.every((n) => hasEnded(w, REPO, n)), {
      inputs: FAST_DEADLINES,
      pauseMs: 500,
      maxTicks: 40
    })
    for (const [i, c] of CASES.entries()) {
      const n = issues[i] ?? 0
      const handBack = c.action !== 'CLOSE_SUCCESS'
      expect({ case: c.name, ...outcome(w, REPO, n) }).toEqual({
        case: c.name,
        action: c.action,
        reason: c.reason,
        labels: handBack ? ['ready-for-human'] : [],
        state: 'OPEN',
        doorbells: [c.doorbell]
      })
    }
    // The pilot story: two dispatches for the fix-forward case, one for the rest.
    expect(w.t3.counts['thread.create']).toBe(
      CASES.reduce((sum, c) => sum + Math.min(c.plan.length, 2), 0)
    )
    expect(decisions.filter((d) => d.includes('FIX_FORWARD'))).toHaveLength(2)
    expect(w.github.violations).toEqual([])
  })

  it('lands with trunk delivery and closes the issue', async () => {
    world = await startWorld({ repos: [REPO], delivery: 'trunk' })
    const w = world
    const n = w.addIssue(REPO, 'Trunk change', [['run', 'push:green', 'idle']])
    await tickUntil(w, () => hasEnded(w, REPO, n))
    expect(outcome(w, REPO, n)).toEqual({
      action: 'CLOSE_SUCCESS',
      reason: 'ci-green',
      labels: [],
      state: 'CLOSED',
      doorbells: ['done']
    })
  })

  it('drives runs the same way when the agent is a workflow run in the repository', async () => {
    world = await startWorld({ repos: [REPO], agent: 'workflow' })
    const w = world
    const cases = [CASES[0], CASES[1], CASES[5]].filter((c): c is Case => c !== undefined)
    const issues = cases.map((c) => w.addIssue(REPO, c.name, c.plan))
    await tickUntil(w, () => issues.every((n) => hasEnded(w, REPO, n)))
    for (const [i, c] of cases.entries()) {
      expect({ case: c.name, ...outcome(w, REPO, issues[i] ?? 0) }).toMatchObject({
        case: c.name,
        action: c.action,
        reason: c.reason,
        doorbells: [c.doorbell]
      })
    }
    // One workflow run per dispatch (two for the fix-forward), each under its own key.
    const runs = w.store.repo(REPO).workflowRuns
    expect(runs.map((r) => Number(r.inputs.issue)).sort()).toEqual(
      [issues[0], issues[1], issues[1], issues[2]].sort()
    )
    expect(new Set(runs.map((r) => r.inputs.run_key)).size).toBe(4)
    expect(w.t3.counts['thread.create']).toBeUndefined()
    expect(w.github.violations).toEqual([])
  })

  it('drives a Copilot-backed run: task → pull request → red → fix-forward task on its branch → green, one doorbell', async () => {
    world = await startWorld({ repos: [REPO], agent: 'copilot' })
    const w = world
    const c = CASES[1]
    if (!c) throw new Error('no fix-forward case')
    const n = w.addIssue(REPO, c.name, c.plan)
    await tickUntil(w, () => hasEnded(w, REPO, n))
    expect(outcome(w, REPO, n)).toMatchObject({
      action: c.action,
      reason: c.reason,
      doorbells: [c.doorbell]
    })
    const tasks = w.agentTasks.tasks
    expect(tasks).toHaveLength(2)
    expect(tasks.every((t) => t.creatorLogin === 'maintainer' && t.createPullRequest)).toBe(true)
    expect(tasks[1]?.headRef).toBe(`afk/issue-${n}`)
    expect(tasks[1]?.sessions[0]?.prompt).toMatch(/afk-loop-run-key: \S+-a1$/m)
    expect(w.store.repo(REPO).workflowRuns).toHaveLength(0)
    expect(w.t3.counts['thread.create']).toBeUndefined()
    expect(w.github.violations).toEqual([])
  })

  /** A Copilot run whose pull request is opened on `branch(task branch)` instead of afk/issue-N. */
  async function copilotOnItsOwnBranch(branch: (taskBranch: string) => string) {
    world = await startWorld({ repos: [REPO], agent: 'copilot' })
    const w = world
    const n = w.addIssue(REPO, 'Own branch', [['run', 'idle']])
    let opened = false
    await tickUntil(w, () => hasEnded(w, REPO, n), {
      inputs: { 'idle-grace': '2s' },
      pauseMs: 1000,
      onTick: () => {
        const task = w.agentTasks.tasks[0]
        if (opened || !task) return
        opened = true
        const head = branch(task.headRef)
        const commit = w.store.commit(REPO, head, `Fix #${n}`, 'Copilot')
        w.store.setCI(REPO, commit.oid, 'green')
        w.store.openPullRequest(REPO, {
          head,
          author: 'Copilot',
          // Outside trusted-associations: never a takeover.
          authorAssociation: 'NONE',
          closes: [n],
          title: `Fix #${n}`
        })
      }
    })
    return { w, n }
  }

  it('lands a Copilot run whose task opens its own branch: the task names it in its artifacts', async () => {
    const { w, n } = await copilotOnItsOwnBranch((taskBranch) => taskBranch)
    expect(w.agentTasks.tasks[0]?.headRef).toMatch(/^copilot\//)
    expect(outcome(w, REPO, n)).toMatchObject({
      action: 'CLOSE_SUCCESS',
      reason: 'ci-green',
      doorbells: ['done']
    })
    expect(w.github.violations).toEqual([])
  })

  it("hands a Copilot run back, work in place, when the pull request is on a branch no task of the run's names", async () => {
    const { w, n } = await copilotOnItsOwnBranch(() => 'copilot/someone-elses')
    expect(outcome(w, REPO, n)).toMatchObject({
      action: 'ESCALATE_PREPUSH',
      reason: 'agent-idle-without-push',
      labels: ['ready-for-human'],
      state: 'OPEN',
      doorbells: ['needs-human']
    })
    expect(w.store.repo(REPO).pulls.filter((p) => p.state === 'OPEN')).toHaveLength(1)
    expect(w.github.violations).toEqual([])
  })

  it('hands back a run whose agent stalls before pushing', async () => {
    world = await startWorld({ repos: [REPO] })
    const w = world
    const n = w.addIssue(REPO, 'Stuck agent', [['run', 'stall']])
    await tickUntil(w, () => hasEnded(w, REPO, n), {
      inputs: { 'prepush-timeout': '4s' },
      pauseMs: 1000
    })
    expect(outcome(w, REPO, n)).toEqual({
      action: 'ESCALATE_PREPUSH',
      reason: 'agent-stalled',
      labels: ['ready-for-human'],
      state: 'OPEN',
      doorbells: ['needs-human']
    })
  })

  it('freezes a run that outlives max-runtime', async () => {
    world = await startWorld({ repos: [REPO] })
    const w = world
    const n = w.addIssue(REPO, 'Slow CI', [['run', 'push:pending', 'idle']])
    await tickUntil(w, () => hasEnded(w, REPO, n), {
      // The claim tick writes ~6 times at GitHub's one-second pace (labels,
      // the tracking label, the claim, the dispatch): the pre-push deadline
      // must outlast it, the runtime must end the run while CI is pending.
      inputs: { 'max-runtime': '9s', 'prepush-timeout': '8s' },
      pauseMs: 1000
    })
    expect(outcome(w, REPO, n)).toMatchObject({
      action: 'FREEZE_ESCALATE',
      reason: 'runtime-exceeded',
      doorbells: ['frozen']
    })
  })
})
