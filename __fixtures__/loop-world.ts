/**
 * An in-memory world for the loop's tests: GitHub, the agent, the doorbell
 * and the clock, behind the same ports production wires to real adapters.
 *
 * Agents are scripted per attempt: each `advance()` moves every running
 * thread one step (keep running, push a commit whose CI will turn green/red/
 * blocked or never start, go idle, fail). Commits' CI resolves one advance
 * after the push.
 *
 * Crash injection: `crashAfter(k)` lets the k-th side effect (a GitHub write,
 * a dispatch, an interrupt or a notification) land and then kills the
 * "process": that call and every later call throws until `revive()`.
 */
import { hasMarker, decode, type RunRecord } from '../src/core/bookkeeping.js'
import { hasLabel, sameLabel } from '../src/core/evidence.js'
import type { CIStatus, ThreadStatus } from '../src/core/types.js'
import { repoRef, type AuthorAssociation, type RepoRef } from '../src/config.js'
import type {
  AgentPort,
  AgentSnapshot,
  CandidateIssue,
  ChangeResult,
  Clock,
  Closer,
  CommitFact,
  DispatchRequest,
  DispatchedThread,
  GitHubPort,
  Notification,
  NotifierPort,
  PullRequestFact,
  RunChange,
  ThreadQuery,
  TrackedIssue,
  World
} from '../src/loop/ports.js'
import { ConflictError } from '../src/loop/ports.js'
import type { TickSettings } from '../src/loop/tick.js'

export const VIEWER = 'afk-bot'

/** One step of a scripted agent. */
export type AgentStep =
  | 'run'
  | 'idle'
  | 'error'
  | 'unknown'
  | 'push:green'
  | 'push:red'
  | 'push:blocked'
  | 'push:none'
  | 'push:pending'

type PushOutcome = 'green' | 'red' | 'blocked' | 'none' | 'pending'

export class CrashError extends Error {
  constructor() {
    super('simulated process death')
    this.name = 'CrashError'
  }
}

export { repoRef }

interface FakeComment {
  id: string
  databaseId: number
  author: string
  body: string
  editedBy: string | null
}

export interface FakeIssue {
  id: string
  number: number
  title: string
  body: string
  url: string
  state: 'OPEN' | 'CLOSED'
  closedBy: string | null
  /** What closed it (a pull request or commit with a closing keyword), null when by hand. */
  closer: Closer | null
  labels: string[]
  labelEvents: TrackedIssue['labelEvents']
  comments: FakeComment[]
  pullRequests: PullRequestFact[]
  trunkCommits: CommitFact[]
  createdAt: string
  author: string
  authorAssociation: AuthorAssociation
  /** Steps per attempt for the agent working this issue. */
  script: AgentStep[][]
}

interface FakeThread {
  id: string
  repo: RepoRef
  issue: number
  attempt: number
  prompt: string
  status: ThreadStatus | 'unknown'
  steps: AgentStep[]
  interrupted: boolean
}

interface FakeRepo {
  ref: RepoRef
  defaultBranch: string
  issues: Map<number, FakeIssue>
}

export const defaultSettings = (overrides: Partial<TickSettings> = {}): TickSettings => ({
  mode: 'on',
  delivery: 'pull-request',
  labels: { ready: 'ready-for-agent', inProgress: 'agent-in-progress', human: 'ready-for-human' },
  policy: {
    maxFixForwardAttempts: 2,
    maxRuntimeSeconds: 6 * 3600,
    prepushTimeoutSeconds: 2 * 3600,
    ciStartTimeoutSeconds: 20 * 60,
    idleGraceSeconds: 10 * 60
  },
  templates: {
    first: 'Work on #{{issue}}: {{title}}\n{{body}}',
    fixForward: 'Fix {{commit}} (attempt {{attempt}})'
  },
  mention: null,
  dryRun: false,
  maxConcurrent: 10,
  maxConcurrentPerRepo: 10,
  trustedAssociations: ['OWNER', 'MEMBER', 'COLLABORATOR'],
  ...overrides
})

export class FakeWorld {
  readonly repos = new Map<string, FakeRepo>()
  readonly threads = new Map<string, FakeThread>()
  readonly ci = new Map<string, { now: CIStatus; next: CIStatus }>()
  /** Every dispatch call, by key. */
  readonly dispatchCalls: DispatchRequest[] = []
  readonly interrupts: string[] = []
  /** Every notification call (raw deliveries, repeats included). */
  readonly deliveries: { channel: string; notification: Notification }[] = []
  readonly counts = { reads: 0, writes: 0, snapshots: 0, finds: 0 }
  notifierFails = false
  channels: string[] = ['webhook']
  agentDown = false
  /** Every dispatch fails with this message while the agent's status stays readable. */
  dispatchError: string | null = null
  /** Repositories (by key) GitHub can't read this tick. */
  readonly unreadable = new Set<string>()
  /**
   * Issues that left a repository, by `owner/name#N` (lowercase): where to
   * (a transfer the token can follow, or can't), or deleted. What REST's
   * `GET /repos/{o}/{r}/issues/{n}` answers for them.
   */
  readonly departed = new Map<
    string,
    { to: string; number: number; readable: boolean } | 'deleted'
  >()
  /** Every `issueWhereabouts` call, as `owner/name#N`. */
  readonly whereaboutsCalls: string[] = []
  /** When set, every dispatch throws what it returns (typed agent failures). */
  dispatchFailure: (() => Error) | null = null
  now = new Date('2026-11-24T08:00:00.000Z')
  private effects = 0
  private crashAt: number | null = null
  private dead = false
  private nextId = 1
  private shaCounter = 0

  readonly clock: Clock = { now: () => new Date(this.now) }

  addRepo(fullName: string, defaultBranch = 'main'): RepoRef {
    const ref = repoRef(fullName)
    this.repos.set(ref.key, { ref, defaultBranch, issues: new Map() })
    return ref
  }

  addIssue(
    fullName: string,
    number: number,
    opts: Partial<
      Pick<FakeIssue, 'title' | 'body' | 'labels' | 'authorAssociation' | 'author' | 'createdAt'>
    > & {
      script?: AgentStep[][]
    } = {}
  ): FakeIssue {
    const repo =
      this.repos.get(fullName.toLowerCase()) ?? this.repos.get(this.addRepo(fullName).key)
    if (!repo) throw new Error('no repo')
    const issue: FakeIssue = {
      id: `I_${fullName}_${number}`,
      number,
      title: opts.title ?? `Issue ${number}`,
      body: opts.body ?? `Body of ${number}`,
      url: `https://github.com/${fullName}/issues/${number}`,
      state: 'OPEN',
      closedBy: null,
      closer: null,
      labels: opts.labels ?? ['ready-for-agent'],
      labelEvents: [],
      comments: [],
      pullRequests: [],
      trunkCommits: [],
      createdAt:
        opts.createdAt ?? new Date(this.now.getTime() - 3600_000 + number * 1000).toISOString(),
      author: opts.author ?? 'maintainer',
      authorAssociation: opts.authorAssociation ?? 'MEMBER',
      script: opts.script ?? [['run', 'push:green', 'idle']]
    }
    repo.issues.set(number, issue)
    return issue
  }

  /**
   * GitHub's transfer: the issue keeps its node id, comments and labels and
   * gets a new number in `to`. `to` need not be allowlisted (added to the
   * world only if it already is); `readable` says whether the token can read
   * it (REST then answers the old number with a redirect, else 404).
   */
  transferIssue(from: string, n: number, to: string, m: number, readable = true): FakeIssue {
    const issue = this.issue(from, n)
    this.repos.get(from.toLowerCase())?.issues.delete(n)
    Object.assign(issue, { number: m, url: `https://github.com/${to}/issues/${m}` })
    this.repos.get(to.toLowerCase())?.issues.set(m, issue)
    this.departed.set(`${from.toLowerCase()}#${n}`, { to, number: m, readable })
    return issue
  }

  /** A maintainer deletes the issue (REST answers 410 for it). */
  deleteIssue(fullName: string, n: number): void {
    this.issue(fullName, n)
    this.repos.get(fullName.toLowerCase())?.issues.delete(n)
    this.departed.set(`${fullName.toLowerCase()}#${n}`, 'deleted')
  }

  /** A human sends a new turn in one of the loop's threads (e.g. after a hand-back). */
  resumeThread(threadId: string, steps: AgentStep[] = ['run', 'run', 'run']): void {
    const t = this.threads.get(threadId)
    if (!t) throw new Error(`no thread ${threadId}`)
    Object.assign(t, { status: 'running', interrupted: false, steps: [...steps] })
  }

  issue(fullName: string, number: number): FakeIssue {
    const issue = this.repos.get(fullName.toLowerCase())?.issues.get(number)
    if (!issue) throw new Error(`no issue ${fullName}#${number}`)
    return issue
  }

  /** The loop's status comment of an issue, and its record. */
  statusOf(fullName: string, number: number): { body: string; record: RunRecord | null } | null {
    const comment = this.issue(fullName, number).comments.find(
      (c) => c.author === VIEWER && hasMarker(c.body)
    )
    if (!comment) return null
    const decoded = decode(comment.body)
    return { body: comment.body, record: decoded.kind === 'ok' ? decoded.record : null }
  }

  /** A human's action on an issue. */
  human = {
    close: (fullName: string, number: number, who = 'maintainer'): void => {
      const issue = this.issue(fullName, number)
      issue.state = 'CLOSED'
      issue.closedBy = who
      issue.closer = null
    },
    /**
     * Merge a pull request (by hand or auto-merge): it closes the issue through
     * "Closes #N". A squash merge's commit carries the keyword in its message,
     * and GitHub may name that commit, not the pull request, as the closer.
     */
    merge: (
      fullName: string,
      number: number,
      pr: number,
      who = 'maintainer',
      method: 'merge' | 'squash' = 'merge'
    ): void => {
      const issue = this.issue(fullName, number)
      const pull = issue.pullRequests.find((p) => p.number === pr)
      if (!pull) throw new Error(`no pull request #${pr}`)
      pull.state = 'MERGED'
      pull.mergedAt = this.now.toISOString()
      pull.mergeCommitSha = this.sha()
      if (issue.state === 'OPEN') {
        issue.state = 'CLOSED'
        issue.closedBy = who
        issue.closer =
          method === 'squash'
            ? {
                kind: 'commit',
                sha: pull.mergeCommitSha,
                url: `https://github.com/${fullName}/commit/${pull.mergeCommitSha}`
              }
            : { kind: 'pull-request', number: pull.number, url: pull.url }
      }
    },
    addLabel: (fullName: string, number: number, label: string, who = 'maintainer'): void => {
      const issue = this.issue(fullName, number)
      if (!hasLabel(issue.labels, label)) issue.labels.push(label)
      issue.labelEvents.push({
        label,
        action: 'added',
        actor: who,
        byViewer: false,
        at: this.now.toISOString()
      })
    },
    removeLabel: (fullName: string, number: number, label: string, who = 'maintainer'): void => {
      const issue = this.issue(fullName, number)
      issue.labels = issue.labels.filter((l) => !sameLabel(l, label))
      issue.labelEvents.push({
        label,
        action: 'removed',
        actor: who,
        byViewer: false,
        at: this.now.toISOString()
      })
    },
    comment: (fullName: string, number: number, body: string, who = 'mallory'): void => {
      const issue = this.issue(fullName, number)
      issue.comments.push({
        id: `C_${this.nextId++}`,
        databaseId: this.nextId,
        author: who,
        body,
        editedBy: null
      })
    },
    editStatusComment: (
      fullName: string,
      number: number,
      edit: (body: string) => string,
      who = 'maintainer'
    ): void => {
      const comment = this.issue(fullName, number).comments.find((c) => c.author === VIEWER)
      if (!comment) throw new Error('no status comment')
      comment.body = edit(comment.body)
      comment.editedBy = who
    },
    /**
     * Someone opens a pull request that closes the issue: by default a
     * collaborator's, from a branch of the repository; `fork` puts its head in
     * the author's fork, `branch` names the head branch (`afk/issue-N` to
     * imitate the run's).
     */
    openPullRequest: (
      fullName: string,
      number: number,
      who = 'contributor',
      opts: { association?: AuthorAssociation; fork?: boolean; branch?: string } = {}
    ): PullRequestFact => {
      const issue = this.issue(fullName, number)
      const n = 900 + number + issue.pullRequests.length
      const pr: PullRequestFact = {
        number: n,
        url: `https://github.com/${fullName}/pull/${n}`,
        headRefName: opts.branch ?? `fix-${number}`,
        headSha: this.sha(),
        author: who,
        byViewer: false,
        state: 'OPEN',
        isDraft: false,
        createdAt: this.now.toISOString(),
        ci: { status: 'pending', url: null },
        isCrossRepository: opts.fork ?? false,
        headRepository: opts.fork ? `${who}/${fullName.split('/')[1] ?? ''}` : fullName,
        authorAssociation: opts.association ?? (opts.fork ? 'NONE' : 'COLLABORATOR'),
        mergedAt: null,
        mergeCommitSha: null
      }
      issue.pullRequests.unshift(pr)
      return pr
    }
  }

  crashAfter(k: number | null): void {
    this.crashAt = k
    this.effects = 0
  }

  revive(): void {
    this.dead = false
    this.crashAt = null
  }

  /** Side effects landed since the world was made (or since crashAfter). */
  get effectCount(): number {
    return this.effects
  }

  get isDead(): boolean {
    return this.dead
  }

  /** Count a side effect that has just landed; die if it was the k-th. */
  landed(): void {
    this.effects++
    if (this.crashAt !== null && this.effects === this.crashAt) {
      this.dead = true
      throw new CrashError()
    }
  }

  alive(): void {
    if (this.dead) throw new CrashError()
  }

  private sha(): string {
    this.shaCounter++
    return `${this.shaCounter.toString(16).padStart(7, '0')}${'0'.repeat(33)}`
  }

  /** Time passes: the clock moves and every agent takes one scripted step; CI resolves. */
  advance(seconds = 300): void {
    this.now = new Date(this.now.getTime() + seconds * 1000)
    for (const [sha, state] of this.ci) {
      if (state.now === 'pending') this.ci.set(sha, { now: state.next, next: state.next })
    }
    for (const thread of this.threads.values()) {
      if (thread.status !== 'running' && thread.status !== 'unknown') continue
      if (thread.interrupted) continue
      const step = thread.steps.shift()
      if (!step) continue
      if (step.startsWith('push:')) {
        this.push(thread, step.slice(5) as PushOutcome)
        continue
      }
      thread.status = step === 'run' ? 'running' : (step as ThreadStatus | 'unknown')
    }
    this.refreshCI()
  }

  private push(thread: FakeThread, outcome: PushOutcome): void {
    const issue = this.issue(thread.repo.fullName, thread.issue)
    const sha = this.sha()
    const next: CIStatus = outcome === 'none' ? 'missing' : outcome
    this.ci.set(sha, { now: outcome === 'none' ? 'missing' : 'pending', next })
    if (this.settingsDelivery === 'trunk') {
      const url = `https://github.com/${thread.repo.fullName}/commit/${sha}`
      issue.trunkCommits.unshift({
        sha,
        url,
        message:
          this.onPush === 'fixes' ? `Work. Fixes #${issue.number}` : `Work (#${issue.number})`,
        committedAt: this.now.toISOString(),
        ci: { status: 'pending', url: null }
      })
      if (this.onPush === 'fixes' && issue.state === 'OPEN') {
        issue.state = 'CLOSED'
        issue.closedBy = 'agent-app'
        issue.closer = { kind: 'commit', sha, url }
      }
      return
    }
    const branch = this.agentBranch?.(issue.number) ?? `afk/issue-${issue.number}`
    const existing = issue.pullRequests.find(
      (p) => p.headRefName === branch && !p.isCrossRepository && p.state === 'OPEN'
    )
    if (existing) {
      existing.headSha = sha
      if (this.onPush === 'auto-merge' || this.onPush === 'auto-squash')
        this.human.merge(
          thread.repo.fullName,
          issue.number,
          existing.number,
          'agent-app',
          this.onPush === 'auto-squash' ? 'squash' : 'merge'
        )
      return
    }
    const number = 100 + issue.number + 1000 * issue.pullRequests.length
    issue.pullRequests.unshift({
      number,
      url: `https://github.com/${thread.repo.fullName}/pull/${number}`,
      headRefName: branch,
      headSha: sha,
      author: 'agent-app',
      byViewer: false,
      state: 'OPEN',
      isDraft: false,
      createdAt: this.now.toISOString(),
      ci: { status: 'pending', url: null },
      isCrossRepository: false,
      headRepository: thread.repo.fullName,
      authorAssociation: 'COLLABORATOR',
      mergedAt: null,
      mergeCommitSha: null
    })
    if (this.onPush === 'auto-merge' || this.onPush === 'auto-squash') {
      const pr = issue.pullRequests[0]
      const method = this.onPush === 'auto-squash' ? 'squash' : 'merge'
      if (pr) this.human.merge(thread.repo.fullName, issue.number, pr.number, 'agent-app', method)
    }
  }

  /**
   * A backend that names its own branch (Copilot): agents push there instead
   * of `afk/issue-N`, and the snapshot reports it for their threads.
   */
  agentBranch: ((issue: number) => string) | null = null
  /** Every `pullRequestsOnBranch` call, as `owner/name:branch`. */
  readonly branchLookups: string[] = []

  /** Which delivery the agents use when they push. */
  settingsDelivery: 'pull-request' | 'trunk' = 'pull-request'
  /**
   * GitHub acting on a push: `auto-merge` merges the agent's pull request at
   * once (before any tick sees CI); `fixes` writes "Fixes #N" in trunk commits,
   * which closes the issue on push.
   */
  onPush: 'auto-merge' | 'auto-squash' | 'fixes' | null = null

  private refreshCI(): void {
    for (const repo of this.repos.values()) {
      for (const issue of repo.issues.values()) {
        for (const pr of issue.pullRequests) {
          const state = this.ci.get(pr.headSha)
          if (state) pr.ci = { status: state.now, url: `https://ci.example/${pr.headSha}` }
        }
        for (const c of issue.trunkCommits) {
          const state = this.ci.get(c.sha)
          if (state) c.ci = { status: state.now, url: `https://ci.example/${c.sha}` }
        }
      }
    }
  }

  // ------------------------------------------------------------ ports ---

  readonly github: GitHubPort = {
    readWorld: async (): Promise<World> => {
      this.alive()
      this.counts.reads++
      this.refreshCI()
      return {
        viewer: VIEWER,
        rateLimit: null,
        repos: [...this.repos.values()].map((repo) =>
          this.unreadable.has(repo.ref.key)
            ? {
                repo: repo.ref,
                defaultBranch: '',
                tracked: [],
                candidates: [],
                error: 'HTTP 502 from GitHub'
              }
            : {
                repo: repo.ref,
                defaultBranch: repo.defaultBranch,
                error: null,
                tracked: [...repo.issues.values()]
                  .filter(
                    (i) =>
                      hasLabel(i.labels, 'agent-in-progress') ||
                      i.comments.some((c) => c.author === VIEWER)
                  )
                  .map((i) => this.tracked(i)),
                candidates: [...repo.issues.values()]
                  .filter(
                    (i) =>
                      i.state === 'OPEN' &&
                      hasLabel(i.labels, 'ready-for-agent') &&
                      !hasLabel(i.labels, 'agent-in-progress')
                  )
                  .map((i) => this.candidate(i))
              }
        )
      }
    },
    apply: async (change: RunChange): Promise<ChangeResult> => {
      this.alive()
      const issue = this.issue(change.repo.fullName, change.issue)
      let commentId: string | null
      if (change.comment) {
        const { id, body, expectBody } = change.comment
        if (id === null) {
          commentId = `C_${this.nextId++}`
          issue.comments.push({
            id: commentId,
            databaseId: this.nextId,
            author: VIEWER,
            body,
            editedBy: null
          })
        } else {
          const comment = issue.comments.find((c) => c.id === id)
          if (!comment) throw new Error(`no comment ${id}`)
          if (expectBody !== undefined && comment.body !== expectBody) {
            throw new ConflictError('the status comment changed since it was read')
          }
          comment.body = body
          comment.editedBy = null
          commentId = id
        }
      } else {
        commentId = issue.comments.find((c) => c.author === VIEWER && hasMarker(c.body))?.id ?? null
      }
      // GitHub matches label names without case.
      for (const label of change.addLabels ?? []) {
        if (!hasLabel(issue.labels, label)) issue.labels.push(label)
        issue.labelEvents.push({
          label,
          action: 'added',
          actor: VIEWER,
          byViewer: true,
          at: this.now.toISOString()
        })
      }
      for (const label of change.removeLabels ?? []) {
        issue.labels = issue.labels.filter((l) => !sameLabel(l, label))
        issue.labelEvents.push({
          label,
          action: 'removed',
          actor: VIEWER,
          byViewer: true,
          at: this.now.toISOString()
        })
      }
      if (change.close) {
        issue.state = 'CLOSED'
        issue.closedBy = VIEWER
        issue.closer = null
      }
      this.counts.writes++
      this.landed()
      return { commentId }
    },
    issueWhereabouts: async (repo, number) => {
      this.alive()
      this.whereaboutsCalls.push(`${repo.fullName}#${number}`)
      if (this.repos.get(repo.key)?.issues.has(number)) {
        return { status: 200, repo: repo.fullName, number }
      }
      const gone = this.departed.get(`${repo.key}#${number}`)
      if (gone === 'deleted') return { status: 410 }
      if (gone?.readable) return { status: 200, repo: gone.to, number: gone.number }
      return { status: 404 }
    },
    // Like `ref(qualifiedName:) { associatedPullRequests(first: 5, states: [OPEN,
    // MERGED], newest first) }`: heads on this branch of the repository itself.
    pullRequestsOnBranch: async (repo, branch): Promise<PullRequestFact[]> => {
      this.alive()
      this.counts.reads++
      this.branchLookups.push(`${repo.fullName}:${branch}`)
      this.refreshCI()
      const pulls = [...(this.repos.get(repo.key)?.issues.values() ?? [])].flatMap((i) =>
        i.pullRequests.filter(
          (p) =>
            p.headRefName === branch &&
            !p.isCrossRepository &&
            p.headRepository?.toLowerCase() === repo.key &&
            p.state !== 'CLOSED'
        )
      )
      return [...new Map(pulls.map((p) => [p.number, p])).values()]
        .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))
        .slice(0, 5)
        .map((p) => ({ ...p, ci: { ...p.ci } }))
    },
    findNotice: async ({ repo, issue: number, marker }): Promise<boolean> => {
      this.alive()
      this.counts.reads++
      return this.issue(repo.fullName, number)
        .comments.slice(-30)
        .some((c) => c.author === VIEWER && c.body.includes(marker))
    }
  }

  private tracked(i: FakeIssue): TrackedIssue {
    const mine = i.comments.find((c) => c.author === VIEWER && hasMarker(c.body)) ?? null
    return {
      id: i.id,
      number: i.number,
      title: i.title,
      body: i.body,
      url: i.url,
      state: i.state,
      labels: [...i.labels],
      closedBy: i.closedBy
        ? { login: i.closedBy, byViewer: i.closedBy === VIEWER, at: null, closer: i.closer }
        : null,
      labelEvents: i.labelEvents.map((e) => ({ ...e })),
      statusComment: mine
        ? {
            id: mine.id,
            databaseId: mine.databaseId,
            body: mine.body,
            editedByOther: mine.editedBy !== null,
            editor: mine.editedBy
          }
        : null,
      forgedComments: i.comments
        .filter((c) => c.author !== VIEWER && hasMarker(c.body))
        .map((c) => ({ id: c.id, author: c.author, url: `${i.url}#${c.id}` })),
      pullRequests: i.pullRequests.map((p) => ({ ...p, ci: { ...p.ci } })),
      trunkCommits: i.trunkCommits.map((c) => ({ ...c, ci: { ...c.ci } }))
    }
  }

  private candidate(i: FakeIssue): CandidateIssue {
    const t = this.tracked(i)
    return {
      id: i.id,
      number: i.number,
      title: i.title,
      body: i.body,
      url: i.url,
      createdAt: i.createdAt,
      author: i.author,
      authorAssociation: i.authorAssociation,
      labels: [...i.labels],
      pullRequests: t.pullRequests.filter((p) => p.state !== 'CLOSED'),
      statusComment: t.statusComment,
      forgedComments: t.forgedComments
    }
  }

  readonly agent: AgentPort = {
    listsRunning: true,
    snapshot: async (threads: readonly ThreadQuery[]): Promise<AgentSnapshot> => {
      this.alive()
      this.counts.snapshots++
      if (this.agentDown)
        return { status: () => null, error: 'T3 server at http://t3 is unreachable' }
      const frozen = new Map<string, ThreadStatus | null>()
      for (const q of threads) {
        const t = this.threads.get(q.threadId)
        frozen.set(q.threadId, !t || t.status === 'unknown' ? null : t.status)
      }
      // Like T3: every thread it has, its id the attempt key.
      const running = [...this.threads.values()]
        .filter((t) => t.status === 'running' && !t.interrupted)
        .map((t) => ({ threadId: t.id, key: t.id }))
      const agentBranch = this.agentBranch
      const branchOf = new Map(
        [...this.threads.values()].map((t) => [t.id, agentBranch?.(t.issue) ?? null])
      )
      return {
        status: (id) => frozen.get(id) ?? null,
        error: null,
        running: () => running,
        ...(agentBranch ? { branch: (id: string) => branchOf.get(id) ?? null } : {})
      }
    },
    dispatch: async (request: DispatchRequest): Promise<DispatchedThread> => {
      this.alive()
      if (this.agentDown) throw new Error('T3 server at http://t3 is unreachable')
      if (this.dispatchError !== null) throw new Error(this.dispatchError)
      if (this.dispatchFailure) throw this.dispatchFailure()
      this.dispatchCalls.push(request)
      const issue = this.issue(request.repo.fullName, request.issue)
      const steps = [
        ...(issue.script[request.attempt] ?? issue.script[issue.script.length - 1] ?? [])
      ]
      this.threads.set(request.key, {
        id: request.key,
        repo: request.repo,
        issue: request.issue,
        attempt: request.attempt,
        prompt: request.prompt,
        status: 'running',
        steps,
        interrupted: false
      })
      // Like the real T3 adapter: no link (a record links only into the repository).
      const result = { threadId: request.key, url: null }
      this.landed()
      return result
    },
    find: async ({ key }): Promise<DispatchedThread | null> => {
      this.alive()
      this.counts.finds++
      const t = this.threads.get(key)
      return t ? { threadId: t.id, url: null } : null
    },
    interrupt: async ({ threadId }): Promise<void> => {
      this.alive()
      const t = this.threads.get(threadId)
      if (t) {
        t.interrupted = true
        t.status = 'idle'
      }
      this.interrupts.push(threadId)
      this.landed()
    }
  }

  readonly notifier: NotifierPort = ((w: FakeWorld): NotifierPort => ({
    get channels() {
      return w.channels
    },
    notify: async (channel: string, notification: Notification): Promise<void> => {
      w.alive()
      if (w.notifierFails) throw new Error(`${channel} receiver answered 503`)
      w.deliveries.push({ channel, notification })
      w.landed()
    }
  }))(this)

  /** Distinct doorbell keys a receiver saw for an issue (repeats dropped by key, as receivers do). */
  doorbells(fullName: string, number: number): Notification[] {
    const seen = new Map<string, Notification>()
    for (const d of this.deliveries) {
      if (d.notification.repo === fullName && d.notification.issue === number) {
        seen.set(`${d.channel}:${d.notification.key}`, d.notification)
      }
    }
    return [...seen.values()]
  }

  /** How many times each dispatch key was dispatched. */
  dispatchesByKey(): Map<string, number> {
    const counts = new Map<string, number>()
    for (const d of this.dispatchCalls) counts.set(d.key, (counts.get(d.key) ?? 0) + 1)
    return counts
  }

  ports() {
    return { github: this.github, agent: this.agent, notifier: this.notifier, clock: this.clock }
  }
}

/** A fresh world. */
export function makeWorld(): FakeWorld {
  return new FakeWorld()
}
