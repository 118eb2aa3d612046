/**
 * Crash safety, through the committed bundle: the action process is killed
 * (SIGKILL) right after each write it makes lands — every GitHub write, every
 * T3 command, the doorbell — before it hears the answer. Fresh ticks must
 * then reach the same end as the uninterrupted run, with one agent dispatch
 * per attempt, one status comment and one doorbell (by idempotency key).
 */
import { describe, expect, it, jest } from '@jest/globals'
import type { ChildProcess } from 'node:child_process'
import { startWorld, LOOP_LOGIN, type PlanStep, type WorldOptions } from '../../sandbox/scenario.js'
import { hasEnded, outcome, tickUntil } from '../../__fixtures__/e2e.js'

jest.setTimeout(900_000)
const REPO = 'acme/widgets'
// Red, fixed forward, green: claim, two dispatches, CI, landing, doorbell.
const PLAN: PlanStep[][] = [
  ['run', 'push:red', 'idle'],
  ['run', 'push:green', 'idle']
]

type Where = 'github' | 't3' | 'doorbell'
interface Crash {
  where: Where
  k: number
}

const T3_COMMANDS = ['thread.create', 'thread.turn.start', 'thread.turn.interrupt'] as const

async function play(crash: Crash | null, agent: WorldOptions['agent'] = 't3') {
  let child: ChildProcess | null = null
  const kill = { k: crash?.k ?? 0, kill: () => child?.kill('SIGKILL') }
  const options: WorldOptions = { repos: [REPO], agent }
  if (crash?.where === 'github') options.github = { killAfterWrites: kill }
  if (crash?.where === 't3') options.t3 = { killAfterCommands: kill }
  if (crash?.where === 'doorbell') options.killAfterDoorbells = kill
  const world = await startWorld(options)
  try {
    const n = world.addIssue(REPO, 'Crash me', PLAN)
    const { runs } = await tickUntil(world, () => hasEnded(world, REPO, n), {
      tolerateFailures: true,
      maxTicks: 30,
      onChild: (c) => (child = c)
    })
    const end = outcome(world, REPO, n)
    const keys = world.doorbells.map((d) => d.headers['idempotency-key'])
    return {
      end: { ...end, doorbells: [...new Set(end.doorbells)] },
      doorbellKeys: new Set(keys).size,
      statusComments: world.store.issue(REPO, n).comments.filter((c) => c.author === LOOP_LOGIN)
        .length,
      dispatches:
        agent === 'copilot' ? world.agentTasks.created : (world.t3.counts['thread.create'] ?? 0),
      killed: runs.filter((r) => r.code !== 0).length,
      writes: world.github.writes,
      commands: T3_COMMANDS.reduce((sum, c) => sum + (world.t3.counts[c] ?? 0), 0),
      violations: world.github.violations
    }
  } finally {
    await world.close()
  }
}

/** Run `tasks` with at most `limit` at a time (each spawns a tick process at a time). */
async function pool<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await task(items[i] as T)
  }
  await Promise.all(Array.from({ length: limit }, worker))
  return results
}

describe('a tick killed right after any write', () => {
  it('ends the same as the uninterrupted run, with no effect doubled', async () => {
    const reference = await play(null)
    expect(reference.end).toEqual({
      action: 'CLOSE_SUCCESS',
      reason: 'ci-green',
      labels: [],
      state: 'OPEN',
      doorbells: ['done']
    })
    expect(reference.killed).toBe(0)
    // Claim, dispatch recorded, fix-forward intent and result, landing, doorbell
    // recorded: at least six GitHub writes; two dispatches of two commands each.
    expect(reference.writes).toBeGreaterThanOrEqual(6)
    expect(reference.commands).toBeGreaterThanOrEqual(4)

    const crashes: Crash[] = [
      ...Array.from({ length: reference.writes }, (_, i) => ({
        where: 'github' as const,
        k: i + 1
      })),
      ...Array.from({ length: reference.commands }, (_, i) => ({ where: 't3' as const, k: i + 1 })),
      { where: 'doorbell', k: 1 }
    ]
    const results = await pool(crashes, 4, play)
    for (const [i, crash] of crashes.entries()) {
      const { writes, commands, ...result } = results[i] ?? reference
      expect(writes + commands).toBeGreaterThan(0)
      expect({ crash, ...result }).toEqual({
        crash,
        end: reference.end,
        doorbellKeys: 1,
        statusComments: 1,
        dispatches: 2,
        killed: 1,
        violations: []
      })
    }
  })

  it('starts each Copilot task once, whichever write the kill follows (the task start among them)', async () => {
    const reference = await play(null, 'copilot')
    expect(reference.end).toEqual({
      action: 'CLOSE_SUCCESS',
      reason: 'ci-green',
      labels: [],
      state: 'OPEN',
      doorbells: ['done']
    })
    expect(reference.dispatches).toBe(2)
    // The two task starts are GitHub writes here, beside the loop's own.
    expect(reference.writes).toBeGreaterThanOrEqual(8)
    const crashes = Array.from({ length: reference.writes }, (_, i) => ({
      where: 'github' as const,
      k: i + 1
    }))
    const results = await pool(crashes, 4, (crash) => play(crash, 'copilot'))
    for (const [i, crash] of crashes.entries()) {
      const { writes: _w, commands: _c, ...result } = results[i] ?? reference
      expect({ crash, ...result }).toEqual({
        crash,
        end: reference.end,
        doorbellKeys: 1,
        statusComments: 1,
        dispatches: 2,
        killed: 1,
        violations: []
      })
    }
  })
})
