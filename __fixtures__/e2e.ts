/**
 * Ticks of the real bundle against a sandbox world, as a scheduler would run
 * them: run the action, let the agents take a step, repeat until the issues
 * under test have ended and their doorbells rang.
 */
import type { ChildProcess } from 'node:child_process'
import { decode, type RunRecord } from '../src/core/bookkeeping.js'
import { runAction, type ActionRun } from '../sandbox/action-process.js'
import { LOOP_LOGIN, type World } from '../sandbox/scenario.js'

export interface Ticks {
  runs: ActionRun[]
  /** Every decision of every tick, as `#N ACTION reason`. */
  decisions: string[]
}

/** The run record in an issue's status comment, if any. */
export function recordOf(world: World, repo: string, issue: number): RunRecord | null {
  const body = world.store.issue(repo, issue).comments.find((c) => c.author === LOOP_LOGIN)?.body
  const decoded = body ? decode(body) : null
  return decoded?.kind === 'ok' ? decoded.record : null
}

/** Whether an issue's run has ended with its doorbell rung (or nothing to ring). */
export function hasEnded(world: World, repo: string, issue: number): boolean {
  const record = recordOf(world, repo, issue)
  if (!record?.terminal) return false
  return record.outbox.every((o) => o.pending.length === 0 || o.abandonedAt !== null)
}

/** How an issue ended, in a comparable form. */
export function outcome(world: World, repo: string, issue: number) {
  const record = recordOf(world, repo, issue)
  const i = world.store.issue(repo, issue)
  return {
    action: record?.terminal?.action ?? null,
    reason: record?.terminal?.reason ?? null,
    labels: [...i.labels].sort(),
    state: i.state,
    doorbells: world.doorbells
      .filter((d) => d.body.issue === issue && d.body.repo === repo)
      .map((d) => d.body.kind)
  }
}

export interface TickOptions {
  inputs?: Record<string, string>
  maxTicks?: number
  /** Pause between ticks so real-time deadlines can pass. */
  pauseMs?: number
  /** Tolerate ticks that fail or are killed (chaos and crash tests). */
  tolerateFailures?: boolean
  onTick?: (run: ActionRun, i: number) => void | Promise<void>
  /** Each tick's process as it starts (a crash test's kill hook holds on to it). */
  onChild?: (child: ChildProcess) => void
}

export async function tickUntil(
  world: World,
  done: () => boolean,
  options: TickOptions = {}
): Promise<Ticks> {
  const runs: ActionRun[] = []
  const decisions: string[] = []
  for (let i = 0; i < (options.maxTicks ?? 25); i++) {
    const run = await runAction(world.inputs(options.inputs), world.env(), 120_000, options.onChild)
    runs.push(run)
    if (run.code !== 0 && !options.tolerateFailures) {
      throw new Error(
        `tick ${i} failed (exit ${run.code}):\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`
      )
    }
    for (const row of JSON.parse(run.outputs.runs ?? '[]') as {
      issue: number
      action: string
      reason: string
    }[]) {
      decisions.push(`#${row.issue} ${row.action} ${row.reason}`)
    }
    await options.onTick?.(run, i)
    if (done()) return { runs, decisions }
    await world.advance()
    if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs))
  }
  throw new Error(`not done after ${options.maxTicks ?? 25} ticks:\n${decisions.join('\n')}`)
}
