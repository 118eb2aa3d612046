/**
 * Drives the loop over a FakeWorld: tick, let time pass, tick again, until
 * the runs under test have ended and their doorbells are settled.
 */
import { isSettled } from '../src/core/outbox.js'
import { tick, type TickSettings } from '../src/loop/tick.js'
import type { TickReport } from '../src/loop/report.js'
import type { FakeWorld } from './loop-world.js'

export interface DriveOptions {
  maxTicks?: number
  /** Seconds of world time between ticks. */
  step?: number
  /** Issues (of the first repository) that must end. */
  issues?: number[]
}

/** Whether every listed issue's run has ended with nothing left to deliver. */
export function ended(world: FakeWorld, repo: string, issues: number[]): boolean {
  return issues.every((n) => {
    const record = world.statusOf(repo, n)?.record
    return Boolean(record?.terminal) && (record?.outbox ?? []).every(isSettled)
  })
}

/**
 * Tick until the issues have ended. A tick that "died" (the world's crash
 * injector fired) is followed at once by a fresh tick at the same world time,
 * as a restarted process would be.
 */
export async function driveToEnd(
  world: FakeWorld,
  settings: TickSettings,
  opts: DriveOptions = {}
): Promise<TickReport[]> {
  const repo = [...world.repos.values()][0]?.ref.fullName ?? ''
  const issues = opts.issues ?? [...([...world.repos.values()][0]?.issues.keys() ?? [])]
  const reports: TickReport[] = []
  for (let i = 0; i < (opts.maxTicks ?? 120); i++) {
    try {
      reports.push(await tick(settings, world.ports()))
    } catch (error) {
      if (!world.isDead) throw error
    }
    if (world.isDead) {
      world.revive()
      continue
    }
    if (ended(world, repo, issues)) return reports
    world.advance(opts.step ?? 300)
  }
  throw new Error(`runs did not end within ${opts.maxTicks ?? 120} ticks`)
}
