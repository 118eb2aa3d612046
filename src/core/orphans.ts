/**
 * Orphaned agents: a thread the loop started whose issue it can no longer see.
 *
 * An issue transferred to a repository the loop can't read (or deleted)
 * takes its status comment with it: the loop keeps no memory of the run, so
 * nothing would ever stop its agent. But the loop's own threads are
 * recognisable by themselves: every thread id (T3) or workflow run name
 * (`afk <key>`) carries an attempt key, `afk-<repo hash>-<issue>-<time>-a<n>`,
 * from which the repository (by hash, over the allowlist) and the issue
 * number come back. So each tick the sweep:
 *
 * 1. takes the threads the agent backend lists as running, keeps those whose
 *    key parses, whose repository is allowlisted (exactly one matches the
 *    hash) and was read this tick ({@link orphanCandidates});
 * 2. drops every thread whose run key a readable issue still carries in its
 *    record (the run is in view: the watcher drives it, or — transferred into
 *    another allowlisted repository — releases it there), and every issue
 *    that is a candidate or was acted on this tick;
 * 3. asks GitHub where each remaining issue is (at most
 *    {@link MAX_ORPHAN_CHECKS} a tick, a rotating window so a few long-lived
 *    threads can't starve the rest), and interrupts only when GitHub says it
 *    moved away or is gone ({@link orphanVerdict}). An issue still in its
 *    repository (handed back, closed, a human continuing in the thread) is
 *    left alone.
 *
 * Pure: the caller passes the facts and `now`.
 */
import { repoHash } from './record-checks.js'

/** The most issues whose whereabouts one tick asks GitHub about (one REST request each). */
export const MAX_ORPHAN_CHECKS = 10

/** An attempt key: `afk-<8 hex>-<issue>-<base-36 time><r…>-a<attempt>` (see run-view.ts). */
const ATTEMPT_KEY = /^(afk-([0-9a-f]{8})-([1-9]\d{0,9})-[0-9a-z]{1,12}r{0,8})-a(\d{1,4})$/

export interface ThreadKey {
  /** The run key the attempt belongs to. */
  runKey: string
  repoHash: string
  issue: number
  attempt: number
}

/** The parts of an attempt key, or null when it is not one of the loop's. */
export function parseAttemptKey(key: string): ThreadKey | null {
  const m = ATTEMPT_KEY.exec(key)
  if (!m) return null
  return { runKey: m[1] ?? '', repoHash: m[2] ?? '', issue: Number(m[3]), attempt: Number(m[4]) }
}

/** A thread the agent backend lists as running. */
export interface RunningThreadFact {
  threadId: string
  /** The attempt key it was dispatched under. */
  key: string
  /** Lowercase `owner/name` of the repository it was listed in, when the backend lists per repository. */
  listedIn?: string
}

export interface SweepFacts {
  running: readonly RunningThreadFact[]
  /** Every allowlisted repository (lowercase `owner/name`) and whether it was read this tick. */
  repos: readonly { key: string; read: boolean }[]
  /** Run keys of every record a readable issue (tracked or candidate) carries this tick. */
  knownRunKeys: ReadonlySet<string>
  /** `owner/name#N` (lowercase) of every issue that is a candidate or was acted on this tick. */
  busy: ReadonlySet<string>
  now: Date
  max?: number
}

export interface OrphanCandidate {
  threadId: string
  key: string
  runKey: string
  /** Lowercase `owner/name`. */
  repo: string
  issue: number
}

/**
 * The running threads whose issue the loop no longer sees, up to `max`
 * (rotating with the minute), and how many more wait for a later tick.
 */
export function orphanCandidates(facts: SweepFacts): {
  candidates: OrphanCandidate[]
  deferred: number
} {
  const byHash = new Map<string, { key: string; read: boolean }[]>()
  for (const repo of facts.repos) {
    const hash = repoHash(repo.key)
    byHash.set(hash, [...(byHash.get(hash) ?? []), repo])
  }
  const found = new Map<string, OrphanCandidate>()
  for (const thread of facts.running) {
    const parsed = parseAttemptKey(thread.key)
    if (!parsed) continue
    const matches = byHash.get(parsed.repoHash) ?? []
    // Two allowlisted repositories with one hash: which one is unknowable, so neither.
    const repo = matches.length === 1 ? matches[0] : undefined
    if (!repo || !repo.read) continue
    // A run listed in one repository but keyed to another is not this repository's run.
    if (thread.listedIn !== undefined && thread.listedIn !== repo.key) continue
    if (facts.knownRunKeys.has(parsed.runKey)) continue
    if (facts.busy.has(`${repo.key}#${parsed.issue}`)) continue
    found.set(thread.threadId, {
      threadId: thread.threadId,
      key: thread.key,
      runKey: parsed.runKey,
      repo: repo.key,
      issue: parsed.issue
    })
  }
  const all = [...found.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  const max = facts.max ?? MAX_ORPHAN_CHECKS
  if (all.length <= max) return { candidates: all, deferred: 0 }
  const start = Math.floor(facts.now.getTime() / 60_000) % all.length
  const rotated = [...all.slice(start), ...all.slice(0, start)]
  return { candidates: rotated.slice(0, max), deferred: all.length - max }
}

/**
 * Where GitHub says an issue is, from `GET /repos/{o}/{r}/issues/{n}`:
 * found (in which repository, under which number: a followed 301 ends at the
 * issue's new home), moved (a 301 not followed), or missing (404:
 * transferred to or deleted from a repository the token can't read; 410:
 * deleted where it can).
 */
export type IssueWhereabouts =
  | { status: 200; repo: string; number: number }
  | { status: 301; to: string | null }
  | { status: 404 | 410 }

export type OrphanVerdict =
  { act: 'interrupt'; why: string } | { act: 'leave'; why: string } | { act: 'wait'; why: string }

/**
 * What to do with a candidate's agent. Interrupt only on GitHub's word that
 * the issue left (moved or gone); an issue still in its repository is left
 * alone (a human may be continuing in the thread); an issue moved into an
 * allowlisted repository that wasn't read this tick waits for that
 * repository's own handling (it releases the run there).
 */
export function orphanVerdict(
  where: IssueWhereabouts,
  candidate: Pick<OrphanCandidate, 'repo' | 'issue'>,
  repos: readonly { key: string; read: boolean }[]
): OrphanVerdict {
  const destination = where.status === 200 ? where.repo : where.status === 301 ? where.to : null
  if (where.status === 404) {
    return {
      act: 'interrupt',
      why: 'the issue is gone from view (transferred to or deleted from a repository the loop cannot read)'
    }
  }
  if (where.status === 410) return { act: 'interrupt', why: 'the issue was deleted' }
  const to = destination?.toLowerCase() ?? null
  if (to === candidate.repo) return { act: 'leave', why: 'the issue is still in its repository' }
  // GitHub also redirects every issue of a renamed repository: same number,
  // new name. A transferred issue gets a new number in its new repository.
  if (where.status === 200 && where.number === candidate.issue) {
    return {
      act: 'leave',
      why: `the issue answers as ${where.repo}#${where.number} (a renamed repository?)`
    }
  }
  const allowlisted = to === null ? undefined : repos.find((r) => r.key === to)
  if (allowlisted && !allowlisted.read) {
    return {
      act: 'wait',
      why: `the issue moved to ${destination ?? ''}, which could not be read this tick`
    }
  }
  return {
    act: 'interrupt',
    why: `the issue was transferred${destination ? ` to ${destination}` : ''}`
  }
}
