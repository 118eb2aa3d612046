/**
 * What a run record may contain, whoever wrote it.
 *
 * The loop trusts a record only if its own login wrote the comment (and, with
 * `state-secret`, if its MAC verifies: see bookkeeping.ts). Without a secret,
 * every workflow sharing the login can write one, so a record must also make
 * sense for the issue it sits on, or it is not trusted:
 *
 * - **Keys derive from the run key, and the run key from the issue.** The run
 *   key is `afk-<hash of the repository>-<issue>-<time>`; every thread, intent
 *   and doorbell key derives from it (`<runKey>-a<attempt>`,
 *   `<runKey>-<kind>`). A record can't name another issue's run.
 * - **Thread ids are the key itself** (T3 thread ids are client-chosen) **or
 *   a workflow run id** (digits), and the workflow backend stops a run only
 *   when its name is exactly `afk <key>`. An interrupt names one of the
 *   record's own threads.
 * - **URLs point into the issue's repository** on its GitHub host: a
 *   doorbell or the checklist never links elsewhere.
 * - **Time only moves forward**: nothing happened after `now` (plus a few
 *   minutes of clock skew between runners and GitHub); everything of the run
 *   happened at or after its claim; and the claim is no later than the moment
 *   GitHub recorded the loop adding the in-progress label (the claim writes
 *   its record before it adds the label), when that event is in view. A
 *   record that moves `claimedAt` later, to lift the deadlines and the
 *   budget, fails one of these.
 *
 * Pure: the caller passes `now` and the facts.
 */
import type { RunRecord } from './bookkeeping.js'

/** Clock skew tolerated between the runners that wrote and read a record, and GitHub. */
export const CLOCK_SKEW_SECONDS = 300

/** A short stable hash (FNV-1a, 32 bits, hex) of a repository key. */
export function repoHash(repoKey: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < repoKey.length; i++) {
    hash ^= repoKey.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash.toString(16).padStart(8, '0')
}

/** The start every run key of this issue has: `afk-<repo hash>-<issue>-`. */
export function runKeyPrefix(repoKey: string, issue: number): string {
  return `afk-${repoHash(repoKey.toLowerCase())}-${issue}-`
}

/** The facts a record is checked against. */
export interface RecordFacts {
  /** `owner/name` of the repository the record is read in. */
  repo: string
  issue: number
  /** The issue's URL as GitHub gave it (`https://host/owner/name/issues/N`). */
  issueUrl: string
  now: Date
  /**
   * When GitHub recorded the loop's own latest adding of the in-progress
   * label, if that event is in view.
   */
  labelledAt?: string | null
}

const SHA = /^[0-9a-f]{7,64}$/i
const DIGITS = /^\d{1,20}$/
/** A Copilot agent task id: a UUID in GitHub's documented example. */
const TASK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The repository's own URL (`https://host/owner/name`), from the issue's. */
export function repositoryUrl(issueUrl: string): string {
  return issueUrl.replace(/\/(issues|pull)\/\d+\/?$/, '')
}

/** Whether a URL lies inside the repository's own URL (same origin, path below it). */
export function isRepositoryUrl(url: string, issueUrl: string): boolean {
  let target: URL
  let base: URL
  try {
    target = new URL(url)
    base = new URL(repositoryUrl(issueUrl))
  } catch {
    return false
  }
  if (target.username || target.password) return false
  const prefix = `${base.pathname.replace(/\/+$/, '')}/`.toLowerCase()
  return target.origin === base.origin && target.pathname.toLowerCase().startsWith(prefix)
}

/**
 * The first thing wrong with a record for this issue, in words a human can
 * act on, or null when it may be trusted as far as its content goes.
 */
export function recordProblem(record: RunRecord, facts: RecordFacts): string | null {
  const key = record.runKey
  const prefix = runKeyPrefix(facts.repo, facts.issue)
  if (!key.startsWith(prefix) || !/^[0-9a-z]{1,12}r{0,8}$/.test(key.slice(prefix.length))) {
    return `its run key ${clip(key)} is not one of this issue's`
  }
  const attemptKey = (attempt: number) => `${key}-a${attempt}`

  for (const thread of record.threads) {
    if (thread.key !== attemptKey(thread.attempt)) {
      return `thread ${clip(thread.id)} has a key that doesn't derive from the run key`
    }
    if (thread.id !== thread.key && !DIGITS.test(thread.id) && !TASK_ID.test(thread.id)) {
      return `thread ${clip(thread.id)} is neither the run's own key, a workflow run id nor a Copilot task id`
    }
    if (thread.attempt > record.fixForwardAttempts) {
      return `thread ${clip(thread.id)} is attempt ${thread.attempt}, beyond the record's ${record.fixForwardAttempts}`
    }
    if (thread.url !== null && !isRepositoryUrl(thread.url, facts.issueUrl)) {
      return `thread ${clip(thread.id)} links outside the repository`
    }
  }
  const intent = record.intent
  if (intent && intent.key !== attemptKey(intent.attempt)) {
    return "the dispatch intent's key doesn't derive from the run key"
  }
  if (intent?.commit != null && !SHA.test(intent.commit)) return 'the intent names no commit'
  if (record.commit) {
    if (!SHA.test(record.commit.sha)) return 'the pushed commit is not a commit id'
    const pr = record.commit.pullRequestUrl
    if (pr !== null && !(isRepositoryUrl(pr, facts.issueUrl) && /\/pull\/\d+$/.test(pr))) {
      return "the pull request link is not one of the repository's pull requests"
    }
  }
  for (const entry of record.outbox) {
    if (entry.key !== `${key}-${entry.kind}`) {
      return `the ${entry.kind} notification's key doesn't derive from the run key`
    }
  }
  const interrupt = record.terminal?.interrupt ?? null
  if (interrupt !== null && !record.threads.some((t) => t.id === interrupt)) {
    return `the pending interrupt names ${clip(interrupt)}, which is not one of the run's threads`
  }
  return timeProblem(record, facts)
}

function timeProblem(record: RunRecord, facts: RecordFacts): string | null {
  const latest = facts.now.getTime() + CLOCK_SKEW_SECONDS * 1000
  const claimed = Date.parse(record.claimedAt)
  const runTimes: [string, string | null | undefined][] = [
    ...record.threads.map((t): [string, string] => [`thread ${clip(t.id)}`, t.dispatchedAt]),
    ['the dispatch intent', record.intent?.at],
    ['the pushed commit', record.commit?.firstSeenAt],
    ['the idle mark', record.idleSince],
    ['the end', record.terminal?.at],
    ...record.outbox.map((o): [string, string] => [`the ${o.kind} notification`, o.createdAt]),
    ...record.outbox.map((o): [string, string | null] => [
      `the ${o.kind} notification`,
      o.abandonedAt
    ])
  ]
  if (claimed > latest) return `it was claimed in the future (${record.claimedAt})`
  for (const [what, at] of runTimes) {
    if (at == null) continue
    const t = Date.parse(at)
    if (t > latest) return `${what} is dated in the future (${at})`
    if (t < claimed) return `${what} is dated before the claim (${at} < ${record.claimedAt})`
  }
  for (const entry of record.history) {
    if (Date.parse(entry.at) > latest) return `a history entry is dated in the future (${entry.at})`
  }
  let previous = claimed
  for (const thread of record.threads) {
    const t = Date.parse(thread.dispatchedAt)
    if (t < previous) return 'its threads are not in the order they were dispatched'
    previous = t
  }
  const labelled = facts.labelledAt ? Date.parse(facts.labelledAt) : NaN
  if (Number.isFinite(labelled) && claimed > labelled + CLOCK_SKEW_SECONDS * 1000) {
    return `it claims the issue at ${record.claimedAt}, after the loop labelled it in progress (${facts.labelledAt ?? ''})`
  }
  return null
}

function clip(text: string): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, '?')
  return ascii.length > 60 ? `'${ascii.slice(0, 60)}…'` : `'${ascii}'`
}
