/**
 * Pure helpers the watcher and poller share: how a run's record changes, which
 * of GitHub's facts count for the run, and what its status comment says.
 *
 * Nothing here performs I/O or reads the clock (`now` is passed in). The
 * decisions that depend on GitHub's facts but are not the state machine's —
 * "which commit is the run's pushed commit", "did a human take over" — live
 * here, where they can be tested without an adapter.
 */
import {
  composeComment,
  withHistory,
  type RecordSeal,
  type HistoryEntry,
  type RunRecord,
  type TerminalMark
} from '../core/bookkeeping.js'
import { render, type ChecklistFacts } from '../core/checklist.js'
import { runKeyPrefix } from '../core/record-checks.js'
import { runBranch } from '../core/prompts.js'
import type { AnyReason, CIStatus, Delivery, Phase } from '../core/types.js'
import type { RepoRef } from '../config.js'
import type { CIReport, PullRequestFact, TrackedIssue } from './ports.js'

/** The commit that counts as the run's push, with its CI. */
export interface PushedFact {
  sha: string
  url: string
  ci: CIReport
  pullRequestUrl: string | null
}

/** Labels the loop is configured with. */
export interface LoopLabels {
  ready: string
  inProgress: string
  human: string
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
  previous?: RunRecord | null
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
  return withHistory(record, {
    at,
    action: 'CLAIM',
    reason: 'claimed',
    ...(previous ? { detail: 'issue queued again after an earlier run' } : {})
  })
}

/** Append history only when the verdict changed, so a repeated WAIT writes nothing. */
export function noteDecision(record: RunRecord, entry: HistoryEntry): RunRecord {
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
        id: thread.threadId,
        url: thread.url,
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

/** Whether a pull request is the run's own: opened by the loop's identity or from the run's branch. */
export function isRunPullRequest(pr: PullRequestFact, issue: number): boolean {
  return pr.byViewer || pr.headRefName === runBranch(issue)
}

/**
 * The run's pushed commit, if any. Pull-request delivery: the head of the
 * newest open pull request of the run's own. Trunk delivery: the newest
 * default-branch commit since the claim that references the issue.
 */
export function selectPushed(issue: TrackedIssue, record: RunRecord): PushedFact | null {
  if (record.delivery === 'trunk') {
    const claimed = Date.parse(record.claimedAt)
    const commit = [...issue.trunkCommits]
      .filter((c) => Date.parse(c.committedAt) >= claimed)
      .sort((a, b) => Date.parse(b.committedAt) - Date.parse(a.committedAt))[0]
    return commit ? { sha: commit.sha, url: commit.url, ci: commit.ci, pullRequestUrl: null } : null
  }
  const pr = [...issue.pullRequests]
    .filter((p) => p.state === 'OPEN' && isRunPullRequest(p, issue.number))
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0]
  return pr
    ? {
        sha: pr.headSha,
        url: commitUrl(issue.url, pr.headSha),
        ci: pr.ci,
        pullRequestUrl: pr.url
      }
    : null
}

/** Track when the current commit was first seen (the CI-start deadline counts from it). */
export function trackCommit(record: RunRecord, pushed: PushedFact | null, now: Date): RunRecord {
  if (!pushed) return record
  if (record.commit?.sha === pushed.sha) {
    if (record.commit.pullRequestUrl === pushed.pullRequestUrl) return record
    return { ...record, commit: { ...record.commit, pullRequestUrl: pushed.pullRequestUrl } }
  }
  return {
    ...record,
    commit: {
      sha: pushed.sha,
      firstSeenAt: now.toISOString(),
      pullRequestUrl: pushed.pullRequestUrl
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

/** A human took over the run: what they did, in the loop's words. */
export interface Takeover {
  reason: AnyReason
  detail: string | null
}

/**
 * Did a human take over? Closing the issue, adding the human label, removing
 * the in-progress label, or opening their own pull request for it.
 */
export function detectTakeover(issue: TrackedIssue, labels: LoopLabels): Takeover | null {
  const by = (login: string | null | undefined): string | null => (login ? `(by @${login})` : null)
  const lastEvent = (label: string, action: 'added' | 'removed') =>
    [...issue.labelEvents]
      .reverse()
      .find((e) => e.label === label && e.action === action && !e.byViewer)
  if (issue.state === 'CLOSED') {
    return { reason: 'issue-closed-by-human', detail: by(issue.closedBy?.login) }
  }
  if (issue.labels.includes(labels.human)) {
    return { reason: 'human-label-added', detail: by(lastEvent(labels.human, 'added')?.actor) }
  }
  if (!issue.labels.includes(labels.inProgress)) {
    return {
      reason: 'in-progress-label-removed',
      detail: by(lastEvent(labels.inProgress, 'removed')?.actor)
    }
  }
  const foreign = foreignPullRequest(issue)
  if (foreign) {
    return {
      reason: 'pull-request-by-someone-else',
      detail: `(${foreign.url}${foreign.author ? ` by @${foreign.author}` : ''})`
    }
  }
  return null
}

/** An open pull request closing the issue that is not the run's own. */
export function foreignPullRequest(issue: TrackedIssue): PullRequestFact | null {
  return (
    issue.pullRequests.find((p) => p.state === 'OPEN' && !isRunPullRequest(p, issue.number)) ?? null
  )
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
  const ended: RunRecord = { ...record, intent: null, terminal: { ...mark, at } }
  return withHistory(ended, {
    at,
    action: mark.action,
    reason: mark.reason,
    ...(mark.detail ? { detail: mark.detail } : {})
  })
}

/** What the status comment needs besides the record. */
export interface CommentContext {
  issueUrl: string
  maxAttempts: number
  maxRuntimeSeconds: number
  /** CI of the current commit (ignored once the run has ended: the record's mark wins). */
  ci: CIStatus | null
  mention: string | null
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
    if (context.mention) facts.mention = context.mention
  }
  return facts
}
