/**
 * A flaky GitHub: one request in five fails at random with 500, 502, 503,
 * 429 or a secondary rate limit. The committed bundle must reach the same
 * ends as against a healthy GitHub — more ticks, never a different outcome,
 * never a doubled effect.
 */
import { describe, expect, it, jest } from '@jest/globals'
import { startWorld, LOOP_LOGIN, type PlanStep, type WorldOptions } from '../../sandbox/scenario.js'
import { hasEnded, outcome, tickUntil } from '../../__fixtures__/e2e.js'

jest.setTimeout(600_000)
const REPO = 'acme/widgets'
const PLANS: Record<string, PlanStep[][]> = {
  'lands at once': [['run', 'push:green', 'idle']],
  'red, fixed forward, green': [
    ['run', 'push:red', 'idle'],
    ['run', 'push:green', 'idle']
  ],
  'budget spent': [
    ['run', 'push:red', 'idle'],
    ['run', 'push:red', 'idle']
  ],
  'agent error': [['run', 'error']]
}

async function play(github: WorldOptions['github']) {
  const world = await startWorld({ repos: [REPO], github })
  try {
    const issues = Object.entries(PLANS).map(
      ([name, plan]) => [name, world.addIssue(REPO, name, plan)] as const
    )
    const { runs } = await tickUntil(
      world,
      () => issues.every(([, n]) => hasEnded(world, REPO, n)),
      { inputs: { 'max-fix-forward': '1' }, tolerateFailures: true, maxTicks: 60 }
    )
    return {
      ends: Object.fromEntries(
        issues.map(([name, n]) => {
          const end = outcome(world, REPO, n)
          const comments = world.store
            .issue(REPO, n)
            .comments.filter((c) => c.author === LOOP_LOGIN).length
          return [name, { ...end, comments }]
        })
      ),
      dispatches: world.t3.counts['thread.create'],
      doorbellKeys: new Set(world.doorbells.map((d) => d.headers['idempotency-key'])).size,
      ticks: runs.length,
      faults: world.github.counts.faults,
      violations: world.github.violations
    }
  } finally {
    await world.close()
  }
}

describe('against a GitHub that fails one request in five', () => {
  it('reaches the same ends as against a healthy one, only later', async () => {
    const [healthy, flaky] = await Promise.all([
      play({}),
      play({ randomFaults: { rate: 0.2, seed: 20261125 } })
    ])
    expect(healthy.faults).toBe(0)
    expect(healthy.ends).toMatchObject({
      'lands at once': { action: 'CLOSE_SUCCESS', doorbells: ['done'], comments: 1 },
      'red, fixed forward, green': { action: 'CLOSE_SUCCESS', doorbells: ['done'], comments: 1 },
      'budget spent': { action: 'FREEZE_ESCALATE', doorbells: ['frozen'], comments: 1 },
      'agent error': { action: 'ESCALATE_PREPUSH', doorbells: ['needs-human'], comments: 1 }
    })

    expect(flaky.faults).toBeGreaterThan(0)
    expect(flaky.ends).toEqual(healthy.ends)
    expect(flaky.dispatches).toBe(healthy.dispatches)
    expect(flaky.doorbellKeys).toBe(healthy.doorbellKeys)
    expect(flaky.ticks).toBeGreaterThanOrEqual(healthy.ticks)
    expect(flaky.violations).toEqual([])
  })
})
