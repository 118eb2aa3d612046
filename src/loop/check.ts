/**
 * A `mode: check` tick: read everything a real tick would need, write
 * nothing, and say per check whether it passes (see core/check.ts for what
 * is checked and what each finding means).
 *
 * 1. Probe each allowlisted repository (reads, write probes GitHub refuses
 *    either way, labels, the viewer).
 * 2. Ask the agent backend to check itself, reading only.
 * 3. Read the workflow's own repository for the schedule's 60-day risk.
 * 4. Only when asked: one test delivery per notification channel (the only
 *    request that reaches beyond GitHub and the agent; it writes nothing).
 * No Effects gate is needed: nothing here has a write to gate.
 */
import type { RepoRef } from '../config.js'
import { checkLines, type CheckLine, type RepoFacts, type ScheduleFacts } from '../core/check.js'
import type { AgentPort, Clock, NotifierPort } from './ports.js'

export interface CheckSettings {
  repos: RepoRef[]
  /** Permissions the chosen features read with (`pull-requests: read`, …). */
  neededReads: string[]
  /** Send each notification channel a test delivery (`check-notify`). */
  testDoorbells: boolean
}

export interface CheckDeps {
  probe(repo: RepoRef): Promise<RepoFacts>
  /** The workflow's own repository, or null when not run by GitHub Actions. */
  schedule(): Promise<ScheduleFacts | { error: string } | null>
  agent: AgentPort
  notifier: NotifierPort
  clock: Clock
}

/** Every check line, in order. Never throws for what it finds. */
export async function runCheck(settings: CheckSettings, deps: CheckDeps): Promise<CheckLine[]> {
  const now = deps.clock.now()
  const repos: RepoFacts[] = []
  for (const repo of settings.repos) repos.push(await deps.probe(repo))
  const reachable = settings.repos.filter(
    (r) => repos.find((f) => f.repo === r.fullName)?.unreachable === null
  )
  // A backend without a check is skipped (said so), never passed or failed.
  const agent = deps.agent.check
    ? await deps.agent.check(reachable)
    : { unchecked: 'this agent backend has no read-only check yet; its first dispatch will tell.' }
  const doorbells: { channel: string; error: string | null }[] = []
  if (settings.testDoorbells) {
    for (const channel of deps.notifier.channels) {
      try {
        if (!deps.notifier.test) throw new Error('this notifier cannot send a test')
        await deps.notifier.test(channel, now.toISOString())
        doorbells.push({ channel, error: null })
      } catch (error) {
        doorbells.push({ channel, error: error instanceof Error ? error.message : String(error) })
      }
    }
  }
  return checkLines({
    now,
    repos,
    neededReads: settings.neededReads,
    agent,
    schedule: await deps.schedule(),
    doorbells
  })
}
