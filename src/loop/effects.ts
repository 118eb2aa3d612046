/**
 * The one gate every side effect of a tick passes through.
 *
 * - Dry run: nothing is written, dispatched, interrupted or rung; each effect
 *   is described in the plan instead, and a plausible result is returned so
 *   the rest of the tick can be planned too.
 * - Rate limit: once GitHub says the primary limit is spent, no further write
 *   is attempted this tick (every later one throws RateLimitedError at once).
 * - Counting: writes, dispatches, interrupts and notifications are counted for
 *   the job summary and the benchmark.
 * - Permission: a write GitHub refuses for lack of permission (401, or a 403
 *   that is no rate limit) is remembered, once per repository and permission,
 *   so the tick can fail the step naming what to grant; it is still thrown to
 *   the run it belongs to.
 *
 * Reads (the agent's `find`, GitHub's `findNotice` and `pullRequestsOnBranch`)
 * pass through untouched: a dry run may read.
 */
import type {
  AgentPort,
  ChangeResult,
  DashboardIssue,
  DispatchRequest,
  DispatchedThread,
  GitHubPort,
  NoticeQuery,
  Notification,
  NotifierPort,
  PullRequestFact,
  RunChange,
  ThreadQuery
} from './ports.js'
import { AgentUnavailableError, PermissionError, RateLimitedError } from './ports.js'
import type { RepoRef } from '../config.js'

/** A write GitHub refused for lack of permission, once per repository and permission. */
export interface PermissionFailure {
  repo: string
  permission: string
  error: string
}

export interface EffectCounts {
  writes: number
  dispatches: number
  interrupts: number
  notifications: number
}

export class Effects {
  readonly counts: EffectCounts = { writes: 0, dispatches: 0, interrupts: 0, notifications: 0 }
  /** What a dry run would have done, in order. */
  readonly plan: string[] = []
  /** Set once the primary rate limit is spent: why writing stopped. */
  writesStopped: string | null = null
  /** Set once the agent says it can't be used at all this tick: why (no new run is claimed). */
  agentUnavailable: string | null = null
  /** Writes refused for lack of permission. */
  readonly permissionFailures: PermissionFailure[] = []

  constructor(
    private readonly github: GitHubPort,
    private readonly agent: AgentPort,
    private readonly notifier: NotifierPort,
    readonly dryRun: boolean
  ) {}

  get channels(): readonly string[] {
    return this.notifier.channels
  }

  async apply(change: RunChange): Promise<ChangeResult> {
    if (this.dryRun) {
      this.plan.push(describeChange(change))
      return { commentId: change.comment?.id ?? null }
    }
    if (this.writesStopped) throw new RateLimitedError(this.writesStopped)
    try {
      const result = await this.github.apply(change)
      this.counts.writes++
      return result
    } catch (error) {
      if (error instanceof RateLimitedError) this.writesStopped = error.message
      this.noteRefusal(change.repo, error)
      throw error
    }
  }

  /** Create one of the loop's labels that `repo` lacks. */
  async createLabel(repo: RepoRef, name: string): Promise<void> {
    if (this.dryRun) {
      this.plan.push(`${repo.fullName}: create the label ${name}`)
      return
    }
    if (this.writesStopped) throw new RateLimitedError(this.writesStopped)
    if (!this.github.createLabel) return
    try {
      await this.github.createLabel(repo, name)
      this.counts.writes++
    } catch (error) {
      if (error instanceof RateLimitedError) this.writesStopped = error.message
      this.noteRefusal(repo, error)
      throw error
    }
  }

  /**
   * Create the dashboard issue (`issue` null) or bring the one read up to
   * date: its new `body` (null: unchanged), its label, reopened. Returns
   * whether it was written (false in a dry run, which plans it instead).
   */
  async writeDashboard(
    repo: RepoRef,
    issue: DashboardIssue | null,
    title: string,
    body: string | null
  ): Promise<boolean> {
    if (this.dryRun) {
      this.plan.push(`${repo.fullName}: ${dashboardChange(issue, body)} the dashboard issue`)
      return false
    }
    if (this.writesStopped) throw new RateLimitedError(this.writesStopped)
    const port = this.github.dashboard
    if (!port) return false
    try {
      if (issue) await port.updateDashboard(repo, issue, body)
      else await port.createDashboard(repo, title, body ?? '')
      this.counts.writes++
      return true
    } catch (error) {
      if (error instanceof RateLimitedError) this.writesStopped = error.message
      this.noteRefusal(repo, error)
      throw error
    }
  }

  private noteRefusal(repo: RepoRef, error: unknown): void {
    if (!(error instanceof PermissionError)) return
    const known = this.permissionFailures.some(
      (f) => f.repo === repo.fullName && f.permission === error.permission
    )
    if (!known) {
      this.permissionFailures.push({
        repo: repo.fullName,
        permission: error.permission,
        error: error.message
      })
    }
  }

  async dispatch(request: DispatchRequest): Promise<DispatchedThread> {
    if (this.dryRun) {
      this.plan.push(
        `${request.repo.fullName}#${request.issue}: dispatch attempt ${request.attempt} (${request.key})`
      )
      return { threadId: `dry-run-${request.key}`, url: null }
    }
    if (this.writesStopped) throw new RateLimitedError(this.writesStopped)
    try {
      const thread = await this.watchAgent(this.agent.dispatch(request))
      this.counts.dispatches++
      return thread
    } catch (error) {
      this.noteRefusal(request.repo, error)
      throw error
    }
  }

  findNotice(query: NoticeQuery): Promise<boolean> {
    return this.github.findNotice(query)
  }

  /** The pull requests on a branch of `repo` itself; null when the port can't look them up. */
  async pullRequestsOnBranch(repo: RepoRef, branch: string): Promise<PullRequestFact[] | null> {
    if (!this.github.pullRequestsOnBranch) return null
    return this.github.pullRequestsOnBranch(repo, branch)
  }

  find(query: { repo: ThreadQuery['repo']; key: string }): Promise<DispatchedThread | null> {
    return this.watchAgent(this.agent.find(query))
  }

  /** Note an agent that can't be used at all, so the poller claims nothing more this tick. */
  private async watchAgent<T>(call: Promise<T>): Promise<T> {
    try {
      return await call
    } catch (error) {
      if (error instanceof AgentUnavailableError) this.agentUnavailable ??= error.message
      throw error
    }
  }

  /** Whether an interrupt was sent (or, in a dry run, planned). */
  async interrupt(query: ThreadQuery): Promise<boolean> {
    if (this.dryRun) {
      this.plan.push(`${query.repo.fullName}: interrupt thread ${query.threadId}`)
      return true
    }
    try {
      const sent = (await this.agent.interrupt(query)) !== false
      if (sent) this.counts.interrupts++
      return sent
    } catch (error) {
      this.noteRefusal(query.repo, error)
      throw error
    }
  }

  async notify(channel: string, notification: Notification): Promise<void> {
    if (this.dryRun) {
      this.plan.push(
        `${notification.repo}#${notification.issue}: ring ${notification.kind} on ${channel}`
      )
      return
    }
    await this.notifier.notify(channel, notification)
    this.counts.notifications++
  }
}

function describeChange(change: RunChange): string {
  const parts: string[] = []
  if (change.comment) parts.push(change.comment.id ? 'update the status comment' : 'comment')
  if (change.addLabels?.length) parts.push(`add ${change.addLabels.join(', ')}`)
  if (change.removeLabels?.length) parts.push(`remove ${change.removeLabels.join(', ')}`)
  if (change.close) parts.push('close the issue')
  return `${change.repo.fullName}#${change.issue}: ${parts.join('; ') || 'nothing'}`
}

const PAST = {
  create: 'created',
  update: 'updated',
  label: 'labelled',
  reopen: 'reopened'
} as const

/** What a dashboard write does, in words: `create`, `update`, `update, label and reopen` (or `…d`, past). */
export function dashboardChange(
  issue: DashboardIssue | null,
  body: string | null,
  past = false
): string {
  const word = (w: keyof typeof PAST) => (past ? PAST[w] : w)
  if (!issue) return word('create')
  const parts = [
    ...(body !== null ? [word('update')] : []),
    ...(issue.labelled ? [] : [word('label')]),
    ...(issue.closed ? [word('reopen')] : [])
  ]
  if (parts.length <= 1) return parts[0] ?? 'leave'
  return `${parts.slice(0, -1).join(', ')} and ${parts.at(-1) ?? ''}`
}
