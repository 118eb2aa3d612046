/**
 * Helpers the watcher and poller share: how a run's record changes (every
 * free text cut to fit after it is composed, so a record always encodes),
 * GitHub's facts seen through the run's evidence, and what its status comment
 * says.
 *
 * Nothing here performs I/O or reads the clock (`now` is passed in). The
 * decisions — which commit is the run's work, what closed the issue, did a
 * human take over — are `core/evidence.ts`'s; this file only adapts the
 * ports' facts to them.
 */
import {
  composeComment,
  fitText,
  fitUrl,
  TEXT_LIMITS,
  withHistory,
  type RecordSeal,
  type HistoryEntry,
  type RunRecord,
  type TerminalMark
} from '../core/bookkeeping.js'
import { render, type ChecklistFacts } from '../core/checklist.js'
import { runWork, type LoopLabels, type RunEvidence } from '../core/evidence.js'
import { runKeyPrefix } from '../core/record-checks.js'
import type { AnyReason, CIStatus, Delivery, Phase } from '../core/types.js'
import type { RepoRef } from '../config.js'
import {
  AgentUnavailableError,
  PermanentDispatchError,
  type AgentSnapshot,
  type CIReport,
  type TrackedIssue
} from './ports.js'

export type { LoopLabels }

/** The commit that counts as the run's push, with its CI. */
export interface PushedFact {
  sha: string
  url: string
  ci: CIReport
  pullRequestUrl: string | null
  /** The pull request's head branch (a backend that continues on a branch pushes there). */
  branch?: string | null
}

const seconds = (from: string, to: Date): number =>
  Math.max(0, Math.floor((to.getTime() - Date.parse(from)) / 1000))

/** Whole seconds between an ISO time and now (never negative). */
export function secondsSince(from: string, now: Date): number {
  return seconds(from, now)
}

/** A run's key: unique per claim, short, made of characters every backend accepts, and tied to its issue. */
export function newRunKey(repo: RepoRef, issue: number, now: Date): string {
  return `${runKeyPrefix(repo.key, issue)}${now.getTime().toString(36)}`
}

/** The key of the dispatch for an attempt (0 = first turn). */
export function attemptKey(runKey: string, attempt: number): string {
  return `${runKey}-a${attempt}`
}

/** The doorbell's idempotency key for a run's end. */
export function doorbellKey(runKey: string, kind: string): string {
  return `${runKey}-${kind}`
}

/** A fresh record for a claim: the first dispatch is its intent. */
export function newRecord(
  repo: RepoRef,
  issue: number,
  delivery: Delivery,
  now: Date,
  previous?: RunRecord | null,
  claim: { baseline?: readonly string[]; detail?: string } = {}
): RunRecord {
  // A new claim's key must differ from the previous run's, even within one millisecond.
  let runKey = newRunKey(repo, issue, now)
  if (previous && previous.runKey === runKey) runKey = `${runKey}r`
  const at = now.toISOString()
  const record: RunRecord = {
    v: 1,
    repo: repo.fullName,
    issue,
    runKey,
    claimedAt: at,
    delivery,
    baseline: [...(claim.baseline ?? [])],
    fixForwardAttempts: 0,
    threads: [],
    intent: {
      kind: 'dispatch',
      key: attemptKey(runKey, 0),
      attempt: 0,
      at,
      commit: null,
      failures: 0,
      lastError: null
    },
    commit: null,
    idleSince: null,
    outbox: [],
    terminal: null,
    history: previous ? previous.history : []
  }
  const detail = [previous ? 'issue queued again after an earlier run' : null, claim.detail]
    .filter(Boolean)
    .join('; ')
  return withHistory(record, {
    at,
    action: 'CLAIM',
    reason: 'claimed',
    ...(detail ? { detail: fitText(detail, TEXT_LIMITS.detail) } : {})
  })
}

/** Append history only when the verdict changed, so a repeated WAIT writes nothing. */
export function noteDecision(record: RunRecord, noted: HistoryEntry): RunRecord {
  const entry: HistoryEntry =
    noted.detail === undefined
      ? noted
      : { ...noted, detail: fitText(noted.detail, TEXT_LIMITS.detail) }
  const last = record.history[record.history.length - 1]
  if (last && last.action === entry.action && last.reason === entry.reason) {
    if ((last.detail ?? '') === (entry.detail ?? '')) return record
  }
  return withHistory(record, entry)
}

/** Record that a dispatched thread exists: the intent is fulfilled. */
export function recordThread(
  record: RunRecord,
  thread: { threadId: string; url: string | null },
  now: Date
): RunRecord {
  const intent = record.intent
  if (!intent) return record
  return {
    ...record,
    threads: [
      ...record.threads,
      {
        id: fitText(thread.threadId, TEXT_LIMITS.id),
        url: fitUrl(thread.url),
        attempt: intent.attempt,
        key: intent.key,
        dispatchedAt: now.toISOString()
      }
    ],
    fixForwardAttempts: Math.max(record.fixForwardAttempts, intent.attempt),
    intent: null,
    idleSince: null
  }
}

/** A dispatch that failed this many ticks in a row hands the run back. */
export const MAX_DISPATCH_FAILURES = 3

/**
 * A dispatch under the record's intent failed: count it and keep the error
 * (cut to fit) for the checklist. The one place dispatch failures are
 * counted. A permanent failure (the configuration must change first) counts
 * as all of them at once, so the run is handed back now, once; an agent that
 * can't be used at all is not the run's fault and is not counted.
 */
export function failDispatch(record: RunRecord, error: unknown): RunRecord {
  const intent = record.intent
  if (!intent) return record
  const failures =
    error instanceof PermanentDispatchError
      ? Math.max(MAX_DISPATCH_FAILURES, intent.failures + 1)
      : error instanceof AgentUnavailableError
        ? intent.failures
        : intent.failures + 1
  const message = error instanceof Error ? error.message : String(error)
  return {
    ...record,
    intent: { ...intent, failures, lastError: fitText(message, TEXT_LIMITS.error) }
  }
}

/** The run's current thread (the latest dispatched), if any. */
export function currentThread(record: RunRecord): RunRecord['threads'][number] | null {
  return record.threads[record.threads.length - 1] ?? null
}

/** Whether a record belongs to this issue (a copied comment's record does not). */
export function recordMatches(record: RunRecord, repo: RepoRef, issue: number): boolean {
  return record.repo.toLowerCase() === repo.key && record.issue === issue
}

/** A link to a commit, from the issue's URL (`…/owner/repo/issues/N`). */
export function commitUrl(issueUrl: string, sha: string): string {
  const base = issueUrl.replace(/\/(issues|pull)\/\d+$/, '')
  return `${base}/commit/${sha}`
}

/**
 * What evidence knows of a run: from its record, plus the branches the agent
 * reports for the run's threads this tick (a backend that names its own).
 */
export function runEvidence(
  record: RunRecord,
  agent?: Pick<AgentSnapshot, 'branch'> | null
): RunEvidence {
  const branches = agent?.branch
    ? record.threads.map((t) => agent.branch?.(t.id) ?? null).filter((b): b is string => !!b)
    : []
  return {
    repo: record.repo,
    delivery: record.delivery,
    claimedAt: record.claimedAt,
    baseline: record.baseline,
    ...(branches.length ? { branches: [...new Set(branches)] } : {})
  }
}

/**
 * The run's pushed commit, if any, with its CI: the commit that carries the
 * run's work (`core/evidence.ts` decides which).
 */
export function selectPushed(
  issue: TrackedIssue,
  record: RunRecord,
  agent?: Pick<AgentSnapshot, 'branch'> | null
): PushedFact | null {
  const work = runWork(issue, runEvidence(record, agent))
  if (!work) return null
  if (work.kind === 'commit') {
    return { sha: work.sha, url: work.commit.url, ci: work.commit.ci, pullRequestUrl: null }
  }
  return {
    sha: work.sha,
    url: commitUrl(issue.url, work.sha),
    ci: work.pullRequest.ci,
    pullRequestUrl: work.pullRequest.url,
    branch: work.pullRequest.headRefName
  }
}

/** Track when the current commit was first seen (the CI-start deadline counts from it). */
export function trackCommit(record: RunRecord, pushed: PushedFact | null, now: Date): RunRecord {
  if (!pushed) return record
  const pullRequestUrl = fitUrl(pushed.pullRequestUrl)
  if (record.commit?.sha === pushed.sha) {
    if (record.commit.pullRequestUrl === pullRequestUrl) return record
    return { ...record, commit: { ...record.commit, pullRequestUrl } }
  }
  return {
    ...record,
    commit: {
      sha: fitText(pushed.sha, TEXT_LIMITS.sha),
      firstSeenAt: now.toISOString(),
      pullRequestUrl
    }
  }
}

/** Track when the thread was first seen idle; an unknown status changes nothing. */
export function trackIdle(
  record: RunRecord,
  status: 'running' | 'idle' | 'error' | null,
  now: Date
): RunRecord {
  if (status === 'idle') {
    return record.idleSince ? record : { ...record, idleSince: now.toISOString() }
  }
  if (status === null) return record
  return record.idleSince === null ? record : { ...record, idleSince: null }
}

/** Where the run stands, for the checklist. */
export function phaseOf(record: RunRecord, ci: CIStatus | null): Phase {
  if (record.terminal) return record.terminal.action === 'CLOSE_SUCCESS' ? 'done' : 'handed-back'
  if (record.threads.length === 0) return 'claimed'
  if (record.commit) return ci === 'green' ? 'deployed' : 'pushed'
  return 'working'
}

/** Mark the run ended. */
export function endRecord(record: RunRecord, mark: Omit<TerminalMark, 'at'>, now: Date): RunRecord {
  const at = now.toISOString()
  const detail = mark.detail === null ? null : fitText(mark.detail, TEXT_LIMITS.detail)
  const ended: RunRecord = { ...record, intent: null, terminal: { ...mark, detail, at } }
  return withHistory(ended, {
    at,
    action: mark.action,
    reason: mark.reason,
    ...(detail ? { detail } : {})
  })
}

/** What the status comment needs besides the record. */
export interface CommentContext {
  issueUrl: string
  maxAttempts: number
  maxRuntimeSeconds: number
  /** CI of the current commit (ignored once the run has ended: the record's mark wins). */
  ci: CIStatus | null
  /** With `state-secret`: what the record's MAC binds it to. */
  seal?: RecordSeal | null
}

/** Render the whole status comment for a record. Deterministic. */
export function statusCommentBody(record: RunRecord, context: CommentContext): string {
  return composeComment(
    record,
    (r) => render(checklistFacts(r, context)),
    undefined,
    context.seal ?? null
  )
}

/** The checklist's facts, from the record and the context. */
export function checklistFacts(record: RunRecord, context: CommentContext): ChecklistFacts {
  const last = record.history[record.history.length - 1]
  const thread = currentThread(record)
  const ci = record.terminal ? record.terminal.ci : context.ci
  const deadline = new Date(Date.parse(record.claimedAt) + context.maxRuntimeSeconds * 1000)
  const reason: AnyReason = record.terminal?.reason ?? last?.reason ?? 'claimed'
  const detail = record.terminal ? record.terminal.detail : (last?.detail ?? null)
  const intentError = record.intent?.lastError
  const facts: ChecklistFacts = {
    repo: record.repo,
    issue: record.issue,
    phase: phaseOf(record, ci),
    reason,
    attempts: record.fixForwardAttempts,
    maxAttempts: context.maxAttempts,
    claimedAt: record.claimedAt,
    deadlineAt: deadline.toISOString(),
    agent: thread ? { id: thread.id, url: thread.url } : null,
    commit: record.commit
      ? { sha: record.commit.sha, url: commitUrl(context.issueUrl, record.commit.sha) }
      : null,
    ciStatus: record.commit ? ci : null,
    deliveryUrl: record.commit?.pullRequestUrl ?? null,
    history: record.history
  }
  const details = [detail, intentError ? `Dispatch failed: ${intentError}` : null].filter(Boolean)
  if (details.length > 0) facts.detail = details.join(' ')
  if (record.terminal) {
    facts.elapsedSeconds = seconds(record.claimedAt, new Date(record.terminal.at))
  }
  return facts
}
