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
 *    tick on), then claim candidates up to the caps — and up to what
 *    GitHub's points left can pay for (see {@link affordableClaims}).
 * 5. Sweep (modes on, watch, stop; backends that list their running
 *    threads): a running thread of the loop's own whose issue no readable
 *    record carries any more is checked with GitHub, and interrupted only if
 *    its issue was transferred away or deleted (`core/orphans.ts`). Its
 *    record left with the issue, so nothing is written and nothing rung: one
 *    line in the report.
 * 6. Report: a row per run, totals, warnings, the points spent and left,
 *    what a dry run would do, and the writes GitHub refused for lack of
 *    permission (which fail the step).
 *
 * Budget: GitHub prices GraphQL in points (1,000 an hour for GITHUB_TOKEN,
 * shared with the repository's other workflows). The world read reports
 * what it cost and what is left. In-flight runs come first: a run is only
 * started when a whole step of it still fits ({@link RUN_POINTS}), so the
 * tick never stops between the writes of one change; claims spend only what
 * is left after every in-flight run has its share.
 *
 * The agent is read once a tick: with runs in flight, with candidates to
 * claim, and — for the sweep — every tick in modes on, watch and stop when
 * the backend lists its running threads (T3, the agent workflow).
 *
 * The tick reads time once, at its start, through the Clock port.
 */
import { decode } from '../core/bookkeeping.js'
import { orphanCandidates, orphanVerdict } from '../core/orphans.js'
import type { AuthorAssociation, RepoRef } from '../config.js'
import { RateLimitedError, type RepoWorld } from './ports.js'
import { Effects } from './effects.js'
import { readDashboards, repoMode, writeDashboards, type RepoDashboard } from './dashboard.js'
import { pollCandidates } from './poller.js'
import type {
  AgentPort,
  AgentSnapshot,
  Clock,
  GitHubPort,
  NotifierPort,
  ThreadQuery
} from './ports.js'
import type { OrphanRow, RunRow, TickReport } from './report.js'
import { currentThread, recordMatches } from './run-view.js'
import { errorMessage, row, stepRun, type LoopSettings } from './watcher.js'

export interface TickSettings extends LoopSettings {
  dryRun: boolean
  maxConcurrent: number
  maxConcurrentPerRepo: number
  trustedAssociations: AuthorAssociation[]
  /** Keep the dashboard issue of each repository (read before, written after the runs). */
  dashboard?: boolean
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

/** The most points one run's step spends: an intent write, a re-read, a result write. */
export const RUN_POINTS = 3
/**
 * What a run whose closing pull requests could not all be read may spend on
 * top: the lookup of its agent's branch (see the watcher), 1 point.
 */
export const LOOKUP_POINTS = 1
/** What a claim spends: the claim write, a re-read and the dispatch's result write. */
export const CLAIM_POINTS = 3
/** Points always left for the repository's other workflows and the next tick's read. */
export const POINTS_FLOOR = 10

/**
 * How many new runs the points left can pay for, after every in-flight run
 * was given one point (most wait and write nothing; those that change write
 * about one) and the floor is kept. Unknown points (no GraphQL budget
 * reported) don't limit claims.
 */
export function affordableClaims(remaining: number | null, inFlight: number): number {
  if (remaining === null) return Number.POSITIVE_INFINITY
  return Math.max(0, Math.floor((remaining - inFlight - POINTS_FLOOR) / CLAIM_POINTS))
}

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

  // The dashboards' checkboxes can make a repository stricter (watch, stop) this tick.
  const dashboardPort = settings.dashboard ? deps.github.dashboard : undefined
  const dashboards: Map<string, RepoDashboard> = dashboardPort
    ? await readDashboards({
        port: dashboardPort,
        repos: world.repos,
        viewer: world.viewer,
        trusted: settings.trustedAssociations,
        secret: settings.stateSecret ?? null,
        now,
        warn
      })
    : new Map()
  const modeOf = (w: RepoWorld) => repoMode(settings.mode, dashboards, w.repo)

  // Read also when only claims are due: an agent that can't be used then claims nothing.
  const claiming =
    settings.mode === 'on' &&
    world.repos.some((w) => w.error === null && w.candidates.length > 0 && modeOf(w) === 'on')
  const sweeping =
    deps.agent.listsRunning === true &&
    deps.github.issueWhereabouts !== undefined &&
    SWEEP_MODES.includes(settings.mode)
  const readable = world.repos.filter((w) => w.error === null).map((w) => w.repo)
  const snapshot = await readAgent(
    deps.agent,
    threadsInFlight(world.repos),
    claiming || sweeping,
    sweeping ? readable : undefined
  )
  if (snapshot.error) warn(`The agent's status could not be read this tick: ${snapshot.error}`)
  if (snapshot.error && snapshot.unavailable) effects.agentUnavailable = snapshot.error

  const pointsLeft = (): number | null =>
    deps.github.points?.()?.remaining ?? world.points?.remaining ?? null
  let budgetNote: string | null = null
  const rows: RunRow[] = []
  const touched = new Set<string>()
  const inFlight = { total: 0, perRepo: new Map<string, number>() }
  for (const repoWorld of world.repos) {
    if (repoWorld.error !== null) continue
    const watchRepo = async (): Promise<void> => {
      for (const issue of repoWorld.tracked) {
        // Start a run's step only if all of its writes fit: never stop between them.
        const left = pointsLeft()
        const need = RUN_POINTS + (issue.pullRequestsComplete === false ? LOOKUP_POINTS : 0)
        if (!effects.writesStopped && left !== null && left < need) {
          effects.writesStopped = `GitHub's GraphQL points are spent (${left} left): the remaining runs are driven next tick`
          budgetNote = effects.writesStopped
        }
        const ctx = {
          settings: { ...settings, mode: modeOf(repoWorld) },
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

  const claims = affordableClaims(pointsLeft(), inFlight.total)
  const pending = world.repos.reduce((n, r) => n + (r.error === null ? r.candidates.length : 0), 0)
  if (settings.mode === 'on' && !effects.writesStopped && claims === 0 && pending > 0) {
    budgetNote = `Claimed nothing new: ${pointsLeft() ?? 0} GitHub points left, and the ${inFlight.total} run(s) in flight come first (a claim needs ${CLAIM_POINTS}, ${POINTS_FLOOR} are kept in reserve).`
    warn(budgetNote)
  }
  if (settings.mode === 'on' && !effects.writesStopped && claims > 0) {
    rows.push(
      ...(await pollCandidates({
        settings,
        limits: {
          maxConcurrent: settings.maxConcurrent,
          maxConcurrentPerRepo: settings.maxConcurrentPerRepo,
          trustedAssociations: settings.trustedAssociations,
          maxClaims: claims
        },
        repos: world.repos.filter((w) => modeOf(w) === 'on'),
        inFlight,
        touched,
        now,
        effects,
        warn
      }))
    )
  }

  const orphans = sweeping
    ? await sweepOrphans({
        world,
        snapshot,
        rows,
        github: deps.github,
        effects,
        now,
        warn,
        log: deps.log
      })
    : []

  const dashboardsWritten = dashboardPort
    ? await writeDashboards({
        port: dashboardPort,
        effects,
        dashboards,
        rows,
        maxRuntimeSeconds: settings.policy.maxRuntimeSeconds,
        pointsSpent: deps.github.points?.()?.spent ?? world.points?.spent ?? null,
        secret: settings.stateSecret ?? null,
        now,
        warn
      })
    : []

  return {
    dashboards: dashboardsWritten,
    mode: settings.mode,
    dryRun: settings.dryRun,
    rows,
    orphans,
    warnings,
    repoErrors,
    agentError: snapshot.error,
    counts: { ...effects.counts },
    writesStopped: effects.writesStopped,
    plan: effects.plan,
    undeliverable,
    points: deps.github.points?.() ?? world.points ?? null,
    budget: budgetNote,
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

/**
 * One agent read per tick, and none when nothing is in flight, to claim or
 * to sweep. Never throws.
 */
async function readAgent(
  agent: AgentPort,
  queries: ThreadQuery[],
  needed: boolean,
  sweep: readonly RepoRef[] | undefined
): Promise<AgentSnapshot> {
  if (queries.length === 0 && !needed) return UNKNOWN_SNAPSHOT
  try {
    return await (sweep ? agent.snapshot(queries, sweep) : agent.snapshot(queries))
  } catch (error) {
    return { status: () => null, error: errorMessage(error) }
  }
}

/** The modes whose ticks stop orphaned agents (off and check read nothing of the agent's). */
const SWEEP_MODES: readonly string[] = ['on', 'watch', 'stop']

/**
 * Stop the agents of issues that left the loop's view (transferred to a
 * repository it can't read, or deleted): see `core/orphans.ts` for which
 * threads are candidates and when GitHub's answer means "interrupt". An
 * interrupt sent twice is harmless (T3 deduplicates its command id per turn;
 * a cancelled workflow run is no longer running, and cancelling a finished
 * one answers 409, taken as done), so a tick that dies midway is simply
 * repeated by the next.
 */
async function sweepOrphans(input: {
  world: { repos: readonly RepoWorld[] }
  snapshot: AgentSnapshot
  rows: readonly RunRow[]
  github: GitHubPort
  effects: Effects
  now: Date
  warn: (message: string) => void
  log?: TickDeps['log']
}): Promise<OrphanRow[]> {
  const { world, snapshot, github, effects } = input
  const running = snapshot.running?.() ?? []
  if (running.length === 0 || !github.issueWhereabouts) return []
  const repos = world.repos.map((w) => ({ key: w.repo.key, read: w.error === null }))
  const knownRunKeys = new Set<string>()
  const busy = new Set<string>()
  for (const w of world.repos) {
    if (w.error !== null) continue
    for (const issue of [...w.tracked, ...w.candidates]) {
      const decoded = issue.statusComment ? decode(issue.statusComment.body) : null
      if (decoded?.kind === 'ok') knownRunKeys.add(decoded.record.runKey)
    }
    for (const c of w.candidates) busy.add(`${w.repo.key}#${c.number}`)
  }
  for (const r of input.rows) busy.add(`${r.repo.toLowerCase()}#${r.issue}`)
  const { candidates, deferred } = orphanCandidates({
    running: running.map((t) => ({
      threadId: t.threadId,
      key: t.key,
      ...(t.repo ? { listedIn: t.repo.key } : {})
    })),
    repos,
    knownRunKeys,
    busy,
    now: input.now
  })
  if (deferred > 0) {
    input.warn(
      `${deferred} more running agent thread(s) without a run in view are checked on later ticks (at most ${candidates.length} a tick).`
    )
  }
  const out: OrphanRow[] = []
  for (const c of candidates) {
    const repo = world.repos.find((w) => w.repo.key === c.repo)?.repo
    if (!repo) continue
    let verdict: ReturnType<typeof orphanVerdict>
    try {
      verdict = orphanVerdict(await github.issueWhereabouts(repo, c.issue), c, repos)
    } catch (error) {
      input.warn(
        `Could not ask GitHub where ${repo.fullName}#${c.issue} is (its agent ${c.threadId} runs without a run in view): ${errorMessage(error)}`
      )
      // A spent rate limit answers every other question the same way: next tick.
      if (error instanceof RateLimitedError) break
      continue
    }
    input.log?.debug?.(
      `sweep: ${repo.fullName}#${c.issue}, thread ${c.threadId}: ${verdict.act}, ${verdict.why}`
    )
    if (verdict.act !== 'interrupt') continue
    const row: OrphanRow = {
      repo: repo.fullName,
      issue: c.issue,
      threadId: c.threadId,
      why: verdict.why,
      error: null
    }
    try {
      // Not sent: the run finished meanwhile, or isn't provably the loop's.
      if (!(await effects.interrupt({ repo, threadId: c.threadId, key: c.key }))) continue
    } catch (error) {
      row.error = errorMessage(error)
    }
    out.push(row)
  }
  return out
}
