/**
 * The loop's ports: the small structural interfaces it drives the world
 * through. Each lists only what the loop calls. Production wires the GitHub,
 * agent and notifier adapters; tests wire in-memory fakes.
 *
 * Rules every adapter keeps:
 * - Reads return facts, not decisions: "which commit counts as pushed" and
 *   "is this a human takeover" are decided in the loop, from these facts.
 * - An adapter that can't read something says so in the result (status
 *   `null`, an `error` field) rather than inventing a value.
 * - Writes throw on failure; a {@link RateLimitedError} tells the loop to stop
 *   writing for the rest of the tick.
 */
import type { AuthorAssociation, RepoRef } from '../config.js'
import type { AgentCheck } from '../core/check.js'
import type { IssueWhereabouts } from '../core/orphans.js'
import type { AnyReason, CIStatus, DoorbellKind, ThreadStatus } from '../core/types.js'

/** Nothing in the loop reads time except through this. */
export interface Clock {
  now(): Date
}

// ---------------------------------------------------------------- agent ---

/** A thread the loop wants the status of this tick. */
export interface ThreadQuery {
  repo: RepoRef
  threadId: string
  /**
   * The dispatch key the thread was started under, when stopping it. A
   * backend whose thread ids don't derive from the key (workflow run ids)
   * stops the thread only if it is that dispatch's (`afk <key>`): a record
   * can't aim the loop at someone else's run.
   */
  key?: string
}

/** The agent's world, read once per tick. */
export interface AgentSnapshot {
  /** Status of a thread; `null` = unknown (missing, deleted, unrecognised, or the read failed). */
  status(threadId: string): ThreadStatus | null
  /** Why the whole snapshot could not be read, if it could not (all statuses are then null). */
  error: string | null
  /** The error concerns the whole backend (token, network): no new run is claimed this tick. */
  unavailable?: boolean
  /**
   * The branch a thread works on, when the backend names its own (Copilot's
   * task artifacts) rather than the `afk/issue-N` the prompt asks for; null
   * when unknown. Backends that push to `afk/issue-N` leave it out.
   */
  branch?(threadId: string): string | null
  /**
   * The loop's own threads the backend sees running now (any thread or run
   * named by an attempt key, `afk-<repo hash>-<issue>-<time>-a<n>`), for the
   * sweep of orphaned agents (src/core/orphans.ts). Only backends that set
   * {@link AgentPort.listsRunning} have it; empty when the read failed.
   */
  running?(): readonly RunningThread[]
}

/** A running thread of the loop's own, as the backend lists it. */
export interface RunningThread {
  /** What {@link AgentPort.interrupt} stops: the T3 thread id, the workflow run id. */
  threadId: string
  /** The attempt key it was dispatched under (the thread id on T3, from `afk <key>` for workflow runs). */
  key: string
  /** The repository it was listed in, when the backend lists per repository (workflow runs). */
  repo?: RepoRef
}

export interface DispatchRequest {
  repo: RepoRef
  issue: number
  /** The issue's title, for naming the thread (`owner/repo#N`, attempt n). */
  title: string
  /** 0 = first turn, n = n-th fix-forward. */
  attempt: number
  prompt: string
  /** Idempotency key: the thread id / run-name derive from it. */
  key: string
  /** For a fix-forward: the head branch of the run's pull request, if its work is one. */
  branch?: string | null
}

export interface DispatchedThread {
  threadId: string
  /** A link a human can open, if the backend has one. */
  url: string | null
}

export interface AgentPort {
  /**
   * One read per tick; never throws (failure → `error` set, statuses null).
   * `sweep`: the readable allowlisted repositories whose running threads
   * {@link AgentSnapshot.running} must list (a backend that lists per
   * repository reads each once; a failure there only shortens the list).
   */
  snapshot(threads: readonly ThreadQuery[], sweep?: readonly RepoRef[]): Promise<AgentSnapshot>
  /**
   * The snapshot lists the loop's own running threads, so the tick reads the
   * agent every tick (not only with runs in flight) to stop orphans. Copilot
   * can't: GitHub documents no way to stop a task.
   */
  readonly listsRunning?: boolean
  /** Start a turn. Throws with a message a user can act on. */
  dispatch(request: DispatchRequest): Promise<DispatchedThread>
  /** The thread a dispatch with this key created, if any (crash reconciliation). */
  find(query: { repo: RepoRef; key: string }): Promise<DispatchedThread | null>
  /**
   * Stop a thread's work (emergency stop, human takeover). Resolves `false`
   * when nothing was sent: the backend can't stop threads (Copilot), the
   * thread isn't provably the loop's, or it had already finished; the tick
   * then doesn't count an interrupt.
   */
  interrupt(query: ThreadQuery): Promise<boolean | void>
  /**
   * `mode: check`: reading only, whether the backend answers, accepts the
   * credentials, and could start a run in each repository. Never throws.
   */
  check?(repos: readonly RepoRef[]): Promise<AgentCheck>
}

/**
 * A dispatch that cannot succeed until a human changes the configuration
 * (e.g. no model to start the agent with): the run is handed back at once,
 * with this message, instead of being retried up to the failure limit.
 */
export class PermanentDispatchError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PermanentDispatchError'
  }
}

/**
 * The agent backend as a whole can't be used right now (token rejected or
 * lacking a right, server unreachable, redirected, snapshot too large): not
 * the run's fault, so it is not counted against the run, and no new run is
 * claimed while it lasts.
 */
export class AgentUnavailableError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'AgentUnavailableError'
  }
}

// --------------------------------------------------------------- github ---

/** CI of one commit, computed by the adapter from checks and statuses. */
export interface CIReport {
  status: CIStatus
  /** A link to the failing (or running) check, for prompts and the checklist. */
  url: string | null
}

export interface PullRequestFact {
  number: number
  url: string
  headRefName: string
  headSha: string
  author: string | null
  /** Opened by the loop's own identity. */
  byViewer: boolean
  state: 'OPEN' | 'CLOSED' | 'MERGED'
  isDraft: boolean
  createdAt: string
  ci: CIReport
  /** GitHub's isCrossRepository: the head lives in a fork. */
  isCrossRepository: boolean
  /** `owner/name` of the head repository; null when it is gone (deleted fork). */
  headRepository: string | null
  /** The pull request author's association with the repository. */
  authorAssociation: AuthorAssociation
  /** When it merged, if it did. */
  mergedAt: string | null
  /**
   * The commit its merge made on the base branch (a merge or squash commit).
   * A squash merge's commit can be what GitHub names as the issue's closer.
   */
  mergeCommitSha: string | null
}

/** What closed an issue, from GitHub's ClosedEvent.closer. */
export type Closer =
  | { kind: 'pull-request'; number: number; url: string }
  | { kind: 'commit'; sha: string; url: string }

export interface CommitFact {
  sha: string
  url: string
  message: string
  /** When the commit was made (committedDate). */
  committedAt: string
  ci: CIReport
}

/** A comment the loop wrote: the run's status comment. */
export interface StatusComment {
  /** GraphQL node id, for updateIssueComment. */
  id: string
  databaseId: number
  body: string
  /** Edited by anyone but the loop: its record can't be trusted. */
  editedByOther: boolean
  editor: string | null
}

/** A comment that carries the record marker but was not written by the loop. */
export interface ForgedComment {
  id: string
  author: string | null
  url: string
}

export interface LabelEventFact {
  label: string
  action: 'added' | 'removed'
  actor: string | null
  byViewer: boolean
  at: string
}

/**
 * An issue the loop may be driving: it carries the in-progress label, or the
 * loop's tracking label and a status comment of the loop's (so a run whose
 * in-progress label a human removed, or whose doorbell still waits, is still
 * seen; the adapter keeps the tracking label while the record owes anything).
 */
export interface TrackedIssue {
  /** GraphQL node id, for mutations. */
  id: string
  number: number
  title: string
  /** Needed to rebuild a first-turn prompt when a crashed claim is resumed. */
  body: string
  url: string
  state: 'OPEN' | 'CLOSED'
  labels: string[]
  /**
   * Who closed it, when and with what (the latest ClosedEvent), when closed.
   * `closer` is the pull request or commit whose closing keyword closed it;
   * null when closed by hand (or the event is out of the timeline's window).
   */
  closedBy: {
    login: string | null
    byViewer: boolean
    at: string | null
    closer: Closer | null
  } | null
  /** Recent label changes, oldest first. */
  labelEvents: LabelEventFact[]
  statusComment: StatusComment | null
  forgedComments: ForgedComment[]
  /**
   * Open and merged PRs that close this issue, newest first, and the run's
   * own found by their branch (`afk/issue-N` in this repository) when the
   * closing list was too long to read whole (the watcher adds those of a
   * branch the agent names: {@link GitHubPort.pullRequestsOnBranch}).
   */
  pullRequests: PullRequestFact[]
  /**
   * False when the closing pull requests were more than the adapter reads
   * (see `core/evidence.ts`: then "nothing pushed" is never concluded).
   * Absent: complete.
   */
  pullRequestsComplete?: boolean
  /** Trunk delivery: default-branch commits whose message references #N, newest first. */
  trunkCommits: CommitFact[]
}

/** An issue with the ready label, open, not in progress. */
export interface CandidateIssue {
  id: string
  number: number
  title: string
  body: string
  url: string
  createdAt: string
  author: string | null
  authorAssociation: AuthorAssociation
  labels: string[]
  /** Open and merged PRs that close this issue, newest first (facts; policy decides what they mean). */
  pullRequests: PullRequestFact[]
  /** The loop's comment, if it already wrote one (a resumed claim, or an earlier run). */
  statusComment: StatusComment | null
  forgedComments: ForgedComment[]
}

export interface RepoWorld {
  repo: RepoRef
  defaultBranch: string
  tracked: TrackedIssue[]
  candidates: CandidateIssue[]
  /** Why this repository could not be read this tick, if it could not. */
  error: string | null
}

/** GraphQL points: what this tick's reads cost and what the budget had left when last seen. */
export interface PointsReport {
  /** Sum of `rateLimit { cost }` of the tick's queries. */
  spent: number
  remaining: number | null
  limit: number | null
  resetAt: string | null
}

export interface World {
  /** The loop's own login (as comment authors show it). */
  viewer: string
  repos: RepoWorld[]
  rateLimit: { remaining: number; resetAt: string } | null
  /** Points spent reading and left, when the adapter knows them. */
  points?: PointsReport
}

/** All of one run's writes in a tick: one request where the adapter can. */
export interface RunChange {
  repo: RepoRef
  issue: number
  issueId: string
  /** Create (id null) or update the status comment. */
  comment?: {
    id: string | null
    body: string
    /**
     * When set, the adapter re-reads the comment right before updating and
     * throws {@link ConflictError} if its body is no longer this.
     */
    expectBody?: string
  }
  addLabels?: string[]
  removeLabels?: string[]
  close?: boolean
}

export interface ChangeResult {
  /** The status comment's node id (new or existing). */
  commentId: string | null
}

export interface GitHubPort {
  /** The whole world of the allowlisted repositories. Throws only if nothing at all could be read. */
  readWorld(): Promise<World>
  /** Points spent so far this tick (reads and writes) and left, as last seen; null if unknown. */
  points?(): PointsReport | null
  /** Apply one run's changes, in order: comment, labels, close. */
  apply(change: RunChange): Promise<ChangeResult>
  /**
   * The loop's own labels (ready, in-progress, human) that the last
   * `readWorld` did not find in `repo`; empty when it was not read.
   */
  missingLabels?(repo: RepoRef): string[]
  /** Create one of the loop's labels, with its colour and description. */
  createLabel?(repo: RepoRef, name: string): Promise<void>
  /**
   * Whether one of the loop's own recent comments on the issue (the last 30)
   * carries this marker: the lookup that makes a notice comment keyed, like a
   * dispatch, so a retry after a crash never posts it twice.
   */
  findNotice(query: NoticeQuery): Promise<boolean>
  /** The dashboard issue's reads and writes, where the adapter has them. */
  dashboard?: DashboardPort
  /**
   * Where an issue is now (REST `GET /repos/{o}/{r}/issues/{n}`: one request,
   * no GraphQL points), for the sweep of orphaned agents. Throws on any other
   * answer (a network failure, a 5xx, a rate limit).
   */
  issueWhereabouts?(repo: RepoRef, issue: number): Promise<IssueWhereabouts>
  /**
   * The open and merged pull requests whose head is `branch` in `repo`
   * itself (never a fork's, whatever its branch is called), newest first:
   * 1 point. Read only for a run whose issue's closing list was cut
   * (`pullRequestsComplete: false`) while the agent names a branch of its
   * own (Copilot), once per run per tick. Facts only: evidence decides.
   */
  pullRequestsOnBranch?(repo: RepoRef, branch: string): Promise<PullRequestFact[]>
}

/** The loop's dashboard issue in one repository, as read. */
export interface DashboardIssue {
  /** GraphQL node id, for updateIssue. */
  id: string
  number: number
  url: string
  body: string
  /** Who edited the body since the loop's own last edit (empty: only the loop did). */
  editorsSinceLoop: string[]
  /**
   * Whether it carries the dashboard label. False for one found without it
   * (opened by an earlier release, or a maintainer removed the label): the
   * next write adds it.
   */
  labelled: boolean
  /** Closed by someone: the next write reopens it (one dashboard, its switches kept). */
  closed: boolean
}

/** The dashboard's reads and writes (`dashboard: true`); see src/github/dashboard.ts. */
export interface DashboardPort {
  /**
   * The dashboard issue the loop authored carrying `marker` (by its label,
   * open or closed; without the label, among the open issues `viewer`
   * opened), or null. 1 point; 2 when the label finds nothing.
   */
  readDashboard(repo: RepoRef, viewer: string, marker: string): Promise<DashboardIssue | null>
  /** Open it, with its label (creating the label first if the repository lacks it). */
  createDashboard(repo: RepoRef, title: string, body: string): Promise<DashboardIssue>
  /**
   * One write for what `issue` (as read) needs: `body` when not null, its
   * label back, reopening. Before a new body, re-reads it (1 point) and
   * throws {@link ConflictError} if it is no longer `issue.body` (a
   * maintainer ticked a box since the tick read it).
   */
  updateDashboard(repo: RepoRef, issue: DashboardIssue, body: string | null): Promise<void>
  /** A user's association with the repository (REST collaborator permission). */
  associationOf(repo: RepoRef, login: string): Promise<AuthorAssociation>
}

export interface NoticeQuery {
  repo: RepoRef
  issue: number
  issueId: string
  marker: string
}

/** The primary rate limit is spent: write nothing more this tick. */
export class RateLimitedError extends Error {
  constructor(
    message: string,
    readonly resetAt: string | null = null
  ) {
    super(message)
    this.name = 'RateLimitedError'
  }
}

/** The comment changed since it was read: refuse to overwrite it. */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConflictError'
  }
}

/**
 * GitHub refused a request for lack of permission (401, or 403 that is not a
 * rate limit): it will refuse it again until someone changes the token, so
 * the step fails, naming what is missing.
 */
export class PermissionError extends Error {
  constructor(
    message: string,
    /** The permission to grant, as a workflow's `permissions:` says it (`issues: write`). */
    readonly permission: string,
    /** The HTTP status GitHub answered (401, 403), or 200 for a GraphQL FORBIDDEN. */
    readonly status: number
  ) {
    super(message)
    this.name = 'PermissionError'
  }
}

/** A write part of which failed: what did and didn't apply. */
export class PartialWriteError extends Error {
  constructor(
    message: string,
    readonly applied: string[],
    readonly failed: string[]
  ) {
    super(message)
    this.name = 'PartialWriteError'
  }
}

// ------------------------------------------------------------- notifier ---

/** What a doorbell says about a run's end. */
export interface Notification {
  kind: DoorbellKind
  /** Idempotency key: the same for every retry of this notification. */
  key: string
  repo: string
  issue: number
  title: string
  url: string
  reason: AnyReason
  /** The reason in plain words. */
  detail: string
  attempts: number
  maxAttempts: number
  elapsedSeconds: number
  threadId: string | null
  threadUrl: string | null
  commit: string | null
  commitUrl: string | null
  pullRequestUrl: string | null
  /** ISO time the run ended. */
  at: string
}

export interface NotifierPort {
  /** The channels configured (e.g. `slack`, `webhook`); each is delivered and retried on its own. */
  readonly channels: readonly string[]
  /** Deliver to one channel. Throws on failure (the outbox retries later). Refuses non-terminal kinds. */
  notify(channel: string, notification: Notification): Promise<void>
  /** `mode: check` with `check-notify`: one delivery that says it is a test. Throws on failure. */
  test?(channel: string, at: string): Promise<void>
}
