/**
 * The pilot's story end to end over in-memory ports, its variants, and the
 * crash-at-every-step proof: kill the "process" after the k-th side effect,
 * for every k, then tick on — each run must end exactly as it does
 * uninterrupted, with one dispatch per attempt and one doorbell per run.
 */
import { describe, expect, it } from '@jest/globals'
import { driveToEnd } from '../../__fixtures__/loop-driver.js'
import {
  defaultSettings,
  makeWorld,
  type AgentStep,
  type FakeWorld
} from '../../__fixtures__/loop-world.js'
import type { TickSettings } from '../../src/loop/tick.js'

const REPO = 'octo/app'

interface Variant {
  name: string
  script: AgentStep[][]
  action: string
  reason: string
  doorbell: 'done' | 'needs-human' | 'frozen'
  dispatches: number
  settings?: Partial<TickSettings>
  trunk?: boolean
  step?: number
}

const variants: Variant[] = [
  {
    name: 'the pilot story: red, fix forward, green, landed',
    script: [
      ['run', 'push:red', 'idle'],
      ['run', 'push:green', 'idle']
    ],
    action: 'CLOSE_SUCCESS',
    reason: 'ci-green',
    doorbell: 'done',
    dispatches: 2
  },
  {
    name: 'trunk delivery lands and closes the issue',
    script: [['run', 'push:green', 'idle']],
    action: 'CLOSE_SUCCESS',
    reason: 'ci-green',
    doorbell: 'done',
    dispatches: 1,
    trunk: true
  },
  {
    name: 'fix-forward budget spent: frozen',
    script: [
      ['run', 'push:red', 'idle'],
      ['run', 'push:red', 'idle'],
      ['run', 'push:red', 'idle']
    ],
    action: 'FREEZE_ESCALATE',
    reason: 'fix-forward-budget-spent',
    doorbell: 'frozen',
    dispatches: 3
  },
  {
    name: 'CI never starts: frozen',
    script: [['run', 'push:none', 'idle']],
    action: 'FREEZE_ESCALATE',
    reason: 'ci-never-started',
    doorbell: 'frozen',
    dispatches: 1
  },
  {
    name: 'CI blocked on approval: frozen',
    script: [['run', 'push:blocked', 'idle']],
    action: 'FREEZE_ESCALATE',
    reason: 'ci-needs-approval',
    doorbell: 'frozen',
    dispatches: 1
  },
  {
    name: 'agent error: needs a human',
    script: [['run', 'error']],
    action: 'ESCALATE_PREPUSH',
    reason: 'agent-error',
    doorbell: 'needs-human',
    dispatches: 1
  },
  {
    name: 'agent idle without a push: needs a human',
    script: [['run', 'idle']],
    action: 'ESCALATE_PREPUSH',
    reason: 'agent-idle-without-push',
    doorbell: 'needs-human',
    dispatches: 1
  },
  {
    name: 'agent stalled: needs a human',
    script: [['run']],
    action: 'ESCALATE_PREPUSH',
    reason: 'agent-stalled',
    doorbell: 'needs-human',
    dispatches: 1,
    step: 1200
  },
  {
    name: 'runtime exceeded while CI never finishes: frozen',
    script: [['run', 'push:pending']],
    action: 'FREEZE_ESCALATE',
    reason: 'runtime-exceeded',
    doorbell: 'frozen',
    dispatches: 1,
    step: 1800
  }
]

function setUp(v: Variant): { world: FakeWorld; settings: TickSettings } {
  const world = makeWorld()
  world.addRepo(REPO)
  world.addIssue(REPO, 7, { script: v.script })
  if (v.trunk) world.settingsDelivery = 'trunk'
  const settings = defaultSettings({ ...(v.trunk ? { delivery: 'trunk' } : {}), ...v.settings })
  return { world, settings }
}

/** What must be the same however often the process died. */
function outcome(world: FakeWorld) {
  const issue = world.issue(REPO, 7)
  const record = world.statusOf(REPO, 7)?.record
  return {
    state: issue.state,
    labels: [...issue.labels].sort(),
    statusComments: issue.comments.filter((c) => c.author === 'afk-bot').length,
    action: record?.terminal?.action,
    reason: record?.terminal?.reason,
    attempts: record?.fixForwardAttempts,
    threads: record?.threads.map((t) => t.key),
    doorbells: world.doorbells(REPO, 7).map((n) => `${n.kind}:${n.key}`)
  }
}

describe('lifecycles', () => {
  it.each(variants.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
    const { world, settings } = setUp(v)
    await driveToEnd(world, settings, { step: v.step ?? 300 })
    const result = outcome(world)
    expect(result.action).toBe(v.action)
    expect(result.reason).toBe(v.reason)
    expect(world.dispatchCalls).toHaveLength(v.dispatches)
    expect(world.doorbells(REPO, 7).map((n) => n.kind)).toEqual([v.doorbell])
    expect(result.statusComments).toBe(1)
    const landed = v.action === 'CLOSE_SUCCESS'
    expect(result.labels).toEqual(landed ? [] : ['ready-for-human'])
    // Trunk delivery closes the issue; a pull request's merge closes it otherwise.
    expect(result.state).toBe(landed && v.trunk ? 'CLOSED' : 'OPEN')
  })

  it('the pilot story passes through every phase and prompts the fix with the red commit', async () => {
    const { world, settings } = setUp(variants[0] as Variant)
    const reports = await driveToEnd(world, settings)
    const actions = reports.flatMap((r) => r.rows.map((row) => `${row.action}:${row.reason}`))
    expect(actions[0]).toBe('CLAIM:claimed')
    expect(actions).toContain('WAIT:agent-working')
    expect(actions).toContain('WAIT:ci-pending')
    expect(actions).toContain('FIX_FORWARD:ci-red')
    expect(actions).toContain('WAIT:agent-still-working')
    expect(actions.filter((a) => a.startsWith('CLOSE_SUCCESS'))).toHaveLength(1)
    const fix = world.dispatchCalls[1]
    const [redSha, greenSha] = [...world.ci.keys()]
    expect(fix?.attempt).toBe(1)
    // The operator's words first, then the issue's text fenced as untrusted
    // (each fix-forward turn is a fresh agent that would otherwise read the raw issue).
    expect(fix?.prompt?.split('\n\n')[0]).toBe(`Fix ${redSha} (attempt 1)`)
    expect(fix?.prompt).toMatch(/\nBody of 7\n<\/untrusted-issue-text [0-9a-f]{16}>$/)
    expect(world.issue(REPO, 7).pullRequests[0]?.headSha).toBe(greenSha)
    const body = world.statusOf(REPO, 7)?.body ?? ''
    expect(body).toContain('### afk-loop: landed')
    expect(body).toContain('**Fix-forward attempts:** 1/2')
  })
})

describe('crash after every side effect', () => {
  it.each(variants.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
    const reference = setUp(v)
    await driveToEnd(reference.world, reference.settings, { step: v.step ?? 300 })
    const expected = outcome(reference.world)
    const effects = reference.world.effectCount
    expect(effects).toBeGreaterThan(2)

    for (let k = 1; k <= effects; k++) {
      const { world, settings } = setUp(v)
      world.crashAfter(k)
      await driveToEnd(world, settings, { step: v.step ?? 300 })
      const got = outcome(world)
      expect({ k, ...got }).toEqual({ k, ...expected })
      // One dispatch per attempt, never two under the same key.
      for (const [key, count] of world.dispatchesByKey())
        expect({ key, count }).toEqual({ key, count: 1 })
      // Receivers drop repeats by key; at most one repeat, only when the crash
      // fell between the ring and its record.
      expect(world.doorbells(REPO, 7)).toHaveLength(1)
      expect(world.deliveries.length).toBeLessThanOrEqual(2)
    }
  })
})
