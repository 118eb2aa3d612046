/**
 * Ticks of the real bundle against a sandbox world, as a scheduler would run
 * them: run the action, let the agents take a step, repeat until the issues
 * under test have ended and their doorbells rang.
 */
import { runAction, type ActionRun } from '../sandbox/action-process.js'
import type { World } from '../sandbox/scenario.js'

export interface Ticks {
  runs: ActionRun[]
  /** Every decision of every tick, as `#N ACTION reason`. */
  decisions: string[]
}

/** Whether an issue's run has ended: its status comment says so and its doorbell rang. */
export function hasEnded(world: World, repo: string, issue: number): boolean {
  const body =
    world.store.issue(repo, issue).comments.find((c) => c.author === 'afk-loop')?.body ?? ''
  const ended = /^### afk-loop: (landed|handed back)/.test(body)
  return ended && world.doorbells.some((d) => d.body.issue === issue && d.body.repo === repo)
}

export async function tickUntil(
  world: World,
  done: () => boolean,
  options: {
    inputs?: Record<string, string>
    maxTicks?: number
    onTick?: (run: ActionRun, i: number) => void | Promise<void>
  } = {}
): Promise<Ticks> {
  const runs: ActionRun[] = []
  const decisions: string[] = []
  for (let i = 0; i < (options.maxTicks ?? 20); i++) {
    const run = await runAction(world.inputs(options.inputs), world.env())
    runs.push(run)
    if (run.code !== 0)
      throw new Error(
        `tick ${i} failed (exit ${run.code}):\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`
      )
    for (const row of JSON.parse(run.outputs.runs ?? '[]') as {
      issue: number
      action: string
      reason: string
    }[]) {
      decisions.push(`#${row.issue} ${row.action} ${row.reason}`)
    }
    await options.onTick?.(run, i)
    if (done()) return { runs, decisions }
    await world.t3.advance()
  }
  throw new Error(`not done after ${options.maxTicks ?? 20} ticks:\n${decisions.join('\n')}`)
}
