/**
 * One tick of the loop: read the world once, drive every tracked run one
 * step, then start new runs.
 *
 * 1. Read the world: one GitHub read model for all allowlisted repositories
 *    (the only failure that fails the step: without it nothing is known).
 * 2. Read the agent once: one snapshot for every run's current thread.
 * 3. Watch: each tracked issue is driven by the watcher. A failure on one run
 *    (an API error, an agent that is down) is reported on its row and the
 *    tick goes on with the others.
 * 4. Poll (only in `mode: on`): create the loop's labels a repository lacks
 *    (so a maintainer has `ready-for-agent` to put on issues from the first
 *    tick on), then claim candidates up to the caps.
 * 5. Report: a row per run, totals, warnings, what a dry run would do, and
 *    the writes GitHub refused for lack of permission (which fail the step).
 *
 * The tick reads time once, at its start, through the Clock port.
 */
import { decode } from '../core/bookkeeping.js'
import type { AuthorAssociation, RepoRef } from '../config.js'
import type { RepoWorld } from './ports.js'
import { Effects } from './effects.js'
import { pollCandidates } from './poller.js'
import type {
  AgentPort,
  AgentSnapshot,
  Clock,
  GitHubPort,
  NotifierPort,
  ThreadQuery
} from './ports.js'
import type { RunRow, TickReport } from './report.js'
import { currentThread, recordMatches } from './run-view.js'
import { errorMessage, row, stepRun, type LoopSettings } from './watcher.js'

export interface TickSettings extends LoopSettings {
  dryRun: boolean
  maxConcurrent: number
  maxConcurrentPerRepo: number
  trustedAssociations: AuthorAssociation[]
}

export interface TickDeps {
  github: GitHubPort
  agent: AgentPort
  notifier: NotifierPort
  clock: Clock
  log?: {
    info(message: string): void
    warning(message: string): void
    /** Decision traces: visible with step debug logging. */
    debug?(message: string): void
    group?<T>(name: string, fn: () => Promise<T>): Promise<T>
  }
}

const UNKNOWN_SNAPSHOT: AgentSnapshot = { status: () => null, error: null }

/** Run one tick. Throws only when the world could not be read at all. */
export async function tick(settings: TickSettings, deps: TickDeps): Promise<TickReport> {
  const now = deps.clock.now()
  const effects = new Effects(deps.github, deps.agent, deps.notifier, settings.dryRun)
  const warnings: string[] = []
  const warn = (message: string): void => {
    warnings.push(message)
    deps.log?.warning(message)
  }
  const undeliverable: TickReport['undeliverable'] = []

  const world = await deps.github.readWorld()
  const repoErrors = world.repos
    .filter((w) => w.error !== null)
    .map((w) => ({ repo: w.repo.fullName, error: w.error ?? '' }))
  if (repoErrors.length === world.repos.length && world.repos.length > 0) {
    throw new Error(
      `no allowlisted repository could be read: ${repoErrors.map((e) => `${e.repo}: ${e.error}`).join('; ')}`
    )
  }

  for (const w of world.repos) {
    deps.log?.debug?.(
      `${w.repo.fullName}: ${w.error === null ? `read ${w.tracked.length} tracked issue(s), ${w.candidates.length} candidate(s), default branch ${w.defaultBranch}` : `not read: ${w.error}`}`
    )
  }

  // Read also when only claims are due: an agent that can't be used then claims nothing.
  const claiming =
    settings.mode === 'on' && world.repos.some((w) => w.error === null && w.candidates.length > 0)
  const snapshot = await readAgent(deps.agent, threadsInFlight(world.repos), claiming)
  if (snapshot.error) warn(`The agent's status could not be read this tick: ${snapshot.error}`)
  if (snapshot.error && snapshot.unavailable) effects.agentUnavailable = snapshot.error

  const rows: RunRow[] = []
  const touched = new Set<string>()
  const inFlight = { total: 0, perRepo: new Map<string, number>() }
  for (const repoWorld of world.repos) {
    if (repoWorld.error !== null) continue
    const watchRepo = async (): Promise<void> => {
      for (const issue of repoWorld.tracked) {
        const ctx = {
          settings,
          repo: repoWorld.repo,
          defaultBranch: repoWorld.defaultBranch,
          issue,
          snapshot,
          now,
          effects,
          warn,
          undeliverable: (u: { kind: string; error: string | null }) =>
            undeliverable.push({ repo: repoWorld.repo.fullName, issue: issue.number, ...u }),
          origin: (fullName: string, number: number) => originOf(world.repos, fullName, number)
        }
        let result: RunRow
        try {
          result = await stepRun(ctx)
        } catch (error) {
          result = { ...row(ctx, null, 'ERROR', 'none', null, errorMessage(error)) }
        }
        rows.push(result)
        if (result.action !== 'SKIP' && result.action !== 'DONE') {
          touched.add(`${repoWorld.repo.key}#${issue.number}`)
        }
        if (holdsSlot(result)) {
          inFlight.total++
          inFlight.perRepo.set(
            repoWorld.repo.key,
            (inFlight.perRepo.get(repoWorld.repo.key) ?? 0) + 1
          )
        }
      }
    }
    if (deps.log?.group) await deps.log.group(repoWorld.repo.fullName, watchRepo)
    else await watchRepo()
  }

  const labelsCreated =
    settings.mode === 'on' ? await createMissingLabels(world.repos, deps.github, effects, warn) : []

  if (settings.mode === 'on' && !effects.writesStopped) {
    rows.push(
      ...(await pollCandidates({
        settings,
        limits: settings,
        repos: world.repos,
        inFlight,
        touched,
        now,
        effects,
        warn
      }))
    )
  }

  return {
    mode: settings.mode,
    dryRun: settings.dryRun,
    rows,
    warnings,
    repoErrors,
    agentError: snapshot.error,
    counts: { ...effects.counts },
    writesStopped: effects.writesStopped,
    plan: effects.plan,
    undeliverable,
    labelsCreated,
    permissionFailures: effects.permissionFailures
  }
}

/**
 * The loop's labels a readable repository lacks, created with their colours
 * and descriptions: only when missing, so a quiet tick still writes nothing.
 * A failure is a warning (and, for lack of permission, fails the step
 * through the Effects gate); the tick goes on.
 */
async function createMissingLabels(
  repos: readonly RepoWorld[],
  github: GitHubPort,
  effects: Effects,
  warn: (message: string) => void
): Promise<string[]> {
  const created: string[] = []
  for (const w of repos) {
    if (w.error !== null) continue
    for (const name of github.missingLabels?.(w.repo) ?? []) {
      try {
        await effects.createLabel(w.repo, name)
        created.push(`${w.repo.fullName}: ${name}`)
      } catch (error) {
        warn(`Could not create the label '${name}' in ${w.repo.fullName}: ${errorMessage(error)}`)
        break
      }
    }
  }
  return created
}

/** A run still occupies a concurrency slot unless it ended or was skipped. */
function holdsSlot(result: RunRow): boolean {
  return ['WAIT', 'FIX_FORWARD', 'ERROR'].includes(result.action)
}

/** The current thread of every run still in flight, read from the records. */
function threadsInFlight(
  repos: readonly {
    repo: ThreadQuery['repo']
    tracked: readonly {
      number: number
      statusComment: { body: string; editedByOther: boolean } | null
    }[]
    error: string | null
  }[]
): ThreadQuery[] {
  const queries: ThreadQuery[] = []
  for (const w of repos) {
    if (w.error !== null) continue
    for (const issue of w.tracked) {
      const comment = issue.statusComment
      if (!comment || comment.editedByOther) continue
      const decoded = decode(comment.body)
      if (decoded.kind !== 'ok' || decoded.record.terminal) continue
      if (!recordMatches(decoded.record, w.repo, issue.number)) continue
      const thread = currentThread(decoded.record)
      if (thread) queries.push({ repo: w.repo, threadId: thread.id })
    }
  }
  return queries
}

/**
 * An allowlisted repository by name, and whether it still has an issue of
 * this number this tick (open or tracked: the read model holds both).
 */
function originOf(
  repos: readonly RepoWorld[],
  fullName: string,
  number: number
): { repo: RepoRef; has: boolean | 'unread' } | null {
  const w = repos.find((r) => r.repo.key === fullName.toLowerCase())
  if (!w) return null
  if (w.error !== null) return { repo: w.repo, has: 'unread' }
  const has =
    w.tracked.some((i) => i.number === number) || w.candidates.some((i) => i.number === number)
  return { repo: w.repo, has }
}

/** One agent read per tick, and none when nothing is in flight or to claim. Never throws. */
async function readAgent(
  agent: AgentPort,
  queries: ThreadQuery[],
  claiming: boolean
): Promise<AgentSnapshot> {
  if (queries.length === 0 && !claiming) return UNKNOWN_SNAPSHOT
  try {
    return await agent.snapshot(queries)
  } catch (error) {
    return { status: () => null, error: errorMessage(error) }
  }
}
