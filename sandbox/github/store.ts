/**
 * The loopback GitHub's state: repositories with their issues, labels,
 * comments (author and editor), pull requests and what they close, commits on
 * branches with their check runs, statuses and check suites, workflow runs,
 * and which token is which identity.
 *
 * It is plain data with a few helpers that behave like GitHub does (numbers
 * shared by issues and pull requests, `updatedAt` bumped by every change,
 * label events recorded in the timeline). The GraphQL and REST layers read and
 * write it; tests seed it and assert on it.
 */
import { createHash } from 'node:crypto'

export type IssueState = 'OPEN' | 'CLOSED'

export interface SandboxLabel {
  id: string
  name: string
  color: string
  description: string
}

export interface SandboxComment {
  id: string
  databaseId: number
  body: string
  author: string
  editor: string | null
  createdAt: string
  updatedAt: string
  lastEditedAt: string | null
  isMinimized: boolean
}

/** What closed an issue (GitHub's ClosedEvent.closer): a merged pull request or a pushed commit. */
export type SandboxCloser = { kind: 'pull'; number: number } | { kind: 'commit'; oid: string }

export interface SandboxEvent {
  type: 'LabeledEvent' | 'UnlabeledEvent' | 'ClosedEvent' | 'ReopenedEvent'
  id: string
  actor: string
  label?: string
  /** ClosedEvent: the pull request or commit whose closing keyword closed the issue. */
  closer?: SandboxCloser
  createdAt: string
}

export interface SandboxIssue {
  id: string
  databaseId: number
  number: number
  title: string
  body: string
  state: IssueState
  author: string
  authorAssociation: string
  labels: string[]
  comments: SandboxComment[]
  events: SandboxEvent[]
  createdAt: string
  updatedAt: string
  closedAt: string | null
  /** Who last edited the body (GitHub's `editor`), and when; null until someone does. */
  editor?: string | null
  lastEditedAt?: string | null
  /** Every body edit, oldest first (GitHub's `userContentEdits`). */
  edits?: { editor: string; at: string }[]
}

export interface SandboxPullRequest {
  id: string
  number: number
  title: string
  body: string
  headRefName: string
  /**
   * `owner/name` of the repository the head branch lives in: the base
   * repository itself, or a fork; null once the fork was deleted.
   */
  headRepository: string | null
  /** Whether the head lives in another repository (stays true when the fork is deleted). */
  isCrossRepository: boolean
  /** The head commit when the head repository went away (GitHub keeps the PR's commits). */
  lastHeadOid: string | null
  baseRefName: string
  author: string
  authorAssociation: string
  state: 'OPEN' | 'CLOSED' | 'MERGED'
  mergedAt: string | null
  /** The commit the merge made on the base branch (a merge or a squash commit). */
  mergeCommitOid: string | null
  isDraft: boolean
  /** Issue numbers this pull request closes (closing keywords). */
  closes: number[]
  createdAt: string
  updatedAt: string
}

export interface SandboxCheckRun {
  id: number
  name: string
  /** The GitHub App that ran it (databaseId; GitHub Actions is 15368). */
  app?: number
  startedAt?: string
  status: 'QUEUED' | 'IN_PROGRESS' | 'COMPLETED' | 'WAITING' | 'PENDING' | 'REQUESTED'
  conclusion:
    | 'SUCCESS'
    | 'FAILURE'
    | 'NEUTRAL'
    | 'CANCELLED'
    | 'TIMED_OUT'
    | 'ACTION_REQUIRED'
    | 'SKIPPED'
    | 'STARTUP_FAILURE'
    | 'STALE'
    | null
}

export interface SandboxStatus {
  createdAt?: string
  context: string
  state: 'SUCCESS' | 'FAILURE' | 'ERROR' | 'PENDING' | 'EXPECTED'
}

export interface SandboxCheckSuite {
  id: number
  status: 'QUEUED' | 'IN_PROGRESS' | 'COMPLETED' | 'WAITING' | 'PENDING' | 'REQUESTED'
  conclusion: SandboxCheckRun['conclusion']
}

export interface SandboxCommit {
  oid: string
  message: string
  author: string
  committedDate: string
  checkRuns: SandboxCheckRun[]
  statuses: SandboxStatus[]
  checkSuites: SandboxCheckSuite[]
}

export interface SandboxWorkflowRun {
  id: number
  workflowFile: string
  name: string
  displayTitle: string
  status: 'queued' | 'in_progress' | 'completed' | 'waiting' | 'requested' | 'pending'
  conclusion: string | null
  headBranch: string
  inputs: Record<string, string>
  createdAt: string
  updatedAt: string
}

export interface SandboxRepo {
  id: string
  databaseId: number
  owner: string
  name: string
  defaultBranch: string
  labels: SandboxLabel[]
  issues: SandboxIssue[]
  pulls: SandboxPullRequest[]
  commits: Map<string, SandboxCommit>
  /** Branch → commit oids, oldest first. */
  branches: Map<string, string[]>
  workflows: string[]
  workflowRuns: SandboxWorkflowRun[]
  /** Numbers are shared by issues and pull requests, as on GitHub. */
  nextNumber: number
  /**
   * Issues that left: transferred (to which repository, under which number)
   * or deleted. What REST answers for their old numbers (301, 404, 410).
   */
  departed?: Map<number, { to: string; number: number } | 'deleted'>
}

/** A stable fake node id (base64 like GitHub's, but readable when decoded). */
export function nodeId(kind: string, key: string): string {
  return Buffer.from(`${kind}:${key}`).toString('base64')
}

/** A fake 40-hex commit oid, unique per input. */
export function fakeOid(seed: string): string {
  return createHash('sha1').update(seed).digest('hex')
}

export class GitHubStore {
  readonly repos = new Map<string, SandboxRepo>()
  /** token → login. */
  readonly tokens = new Map<string, string>()
  /** Logins that are apps (shown as `login[bot]` to `viewer`, plain `login` as authors). */
  readonly bots = new Set<string>()
  /**
   * `owner/name:login` (lowercase) → the user's permission on the repository
   * (`admin`, `maintain`, `write`, `triage`, `read`), as the collaborator
   * permission endpoint answers it. Unlisted users: `read` (public repository).
   */
  readonly permissions = new Map<string, string>()
  /**
   * Logins that see only some repositories (an App installed on a few, a
   * workflow's `GITHUB_TOKEN` on its own): login → lowercase `owner/name`s.
   * A repository a login can't see answers as if it didn't exist (REST 404,
   * GraphQL "Could not resolve"). Logins not listed see every repository.
   */
  readonly visible = new Map<string, Set<string>>()
  private seq = 1000
  private clock: () => Date

  constructor(options: { now?: () => Date } = {}) {
    this.clock = options.now ?? (() => new Date())
  }

  now(): string {
    return this.clock().toISOString()
  }

  setClock(now: () => Date): void {
    this.clock = now
  }

  nextId(): number {
    return ++this.seq
  }

  addToken(token: string, login: string, options: { bot?: boolean } = {}): void {
    this.tokens.set(token, login)
    if (options.bot) this.bots.add(login)
  }

  addRepo(
    fullName: string,
    options: { defaultBranch?: string; workflows?: string[] } = {}
  ): SandboxRepo {
    const [owner = '', name = ''] = fullName.split('/')
    const defaultBranch = options.defaultBranch ?? 'main'
    const databaseId = this.nextId()
    const repo: SandboxRepo = {
      id: nodeId('Repository', fullName.toLowerCase()),
      databaseId,
      owner,
      name,
      defaultBranch,
      labels: [],
      issues: [],
      pulls: [],
      commits: new Map(),
      branches: new Map(),
      workflows: options.workflows ?? [],
      workflowRuns: [],
      nextNumber: 1
    }
    this.repos.set(fullName.toLowerCase(), repo)
    this.commit(fullName, defaultBranch, 'Initial commit', 'octocat')
    return repo
  }

  /** Whether a login may see a repository (see {@link visible}). */
  canSee(login: string, fullName: string): boolean {
    const only = this.visible.get(login)
    return !only || only.has(fullName.toLowerCase())
  }

  repo(fullName: string): SandboxRepo {
    const repo = this.repos.get(fullName.toLowerCase())
    if (!repo) throw new Error(`sandbox: no repository ${fullName}`)
    return repo
  }

  ensureLabel(repo: SandboxRepo, name: string, color = 'ededed', description = ''): SandboxLabel {
    const existing = repo.labels.find((l) => l.name.toLowerCase() === name.toLowerCase())
    if (existing) return existing
    const label = { id: nodeId('Label', `${repo.databaseId}/${name}`), name, color, description }
    repo.labels.push(label)
    return label
  }

  addIssue(
    fullName: string,
    input: {
      title: string
      body?: string
      author?: string
      authorAssociation?: string
      labels?: string[]
      state?: IssueState
    }
  ): SandboxIssue {
    const repo = this.repo(fullName)
    const number = repo.nextNumber++
    const at = this.now()
    for (const l of input.labels ?? []) this.ensureLabel(repo, l)
    const issue: SandboxIssue = {
      id: nodeId('Issue', `${repo.databaseId}/${number}`),
      databaseId: this.nextId(),
      number,
      title: input.title,
      body: input.body ?? '',
      state: input.state ?? 'OPEN',
      author: input.author ?? 'maintainer',
      authorAssociation: input.authorAssociation ?? 'OWNER',
      labels: [...(input.labels ?? [])],
      comments: [],
      events: [],
      createdAt: at,
      updatedAt: at,
      closedAt: null
    }
    repo.issues.push(issue)
    return issue
  }

  issue(fullName: string, number: number): SandboxIssue {
    const issue = this.repo(fullName).issues.find((i) => i.number === number)
    if (!issue) throw new Error(`sandbox: no issue ${fullName}#${number}`)
    return issue
  }

  /** Where a node id points, for `node(id:)` and mutations. */
  findNode(
    id: string
  ):
    | { kind: 'issue'; repo: SandboxRepo; issue: SandboxIssue }
    | { kind: 'comment'; repo: SandboxRepo; issue: SandboxIssue; comment: SandboxComment }
    | { kind: 'label'; repo: SandboxRepo; label: SandboxLabel }
    | { kind: 'pull'; repo: SandboxRepo; pull: SandboxPullRequest }
    | { kind: 'commit'; repo: SandboxRepo; commit: SandboxCommit }
    | null {
    if (id.startsWith('commit:')) {
      for (const repo of this.repos.values()) {
        const commit = repo.commits.get(id.slice('commit:'.length))
        if (commit) return { kind: 'commit', repo, commit }
      }
      return null
    }
    for (const repo of this.repos.values()) {
      for (const issue of repo.issues) {
        if (issue.id === id) return { kind: 'issue', repo, issue }
        const comment = issue.comments.find((c) => c.id === id)
        if (comment) return { kind: 'comment', repo, issue, comment }
      }
      const label = repo.labels.find((l) => l.id === id)
      if (label) return { kind: 'label', repo, label }
      const pull = repo.pulls.find((p) => p.id === id)
      if (pull) return { kind: 'pull', repo, pull }
    }
    return null
  }

  // ---------------------------------------------------------------- writes ---

  /**
   * Transfer an issue as GitHub does: it keeps its node id, comments and
   * timeline, and takes the next number of the target repository. Labels:
   * GitHub's help has said both "not retained" and "retained where the
   * target has a label of that name"; `labels: 'matching'` (the default)
   * keeps those the target has, `'none'` drops them all. The old number then
   * answers REST with a redirect to the new home (404 to a token that can't
   * see the target).
   */
  transferIssue(
    fromFullName: string,
    number: number,
    toFullName: string,
    options: { labels?: 'matching' | 'none' } = {}
  ): SandboxIssue {
    const from = this.repo(fromFullName)
    const to = this.repo(toFullName)
    const issue = this.issue(fromFullName, number)
    from.issues = from.issues.filter((i) => i !== issue)
    const kept =
      options.labels === 'none'
        ? []
        : issue.labels.filter((l) =>
            to.labels.some((t) => t.name.toLowerCase() === l.toLowerCase())
          )
    issue.labels = kept
    issue.number = to.nextNumber++
    issue.updatedAt = this.now()
    to.issues.push(issue)
    from.departed ??= new Map()
    from.departed.set(number, { to: `${to.owner}/${to.name}`.toLowerCase(), number: issue.number })
    return issue
  }

  /** Delete an issue (an admin's act): gone from every read; REST answers its number 410. */
  deleteIssue(fullName: string, number: number): void {
    const repo = this.repo(fullName)
    const issue = this.issue(fullName, number)
    repo.issues = repo.issues.filter((i) => i !== issue)
    repo.departed ??= new Map()
    repo.departed.set(number, 'deleted')
  }

  addComment(issue: SandboxIssue, author: string, body: string): SandboxComment {
    const at = this.now()
    const databaseId = this.nextId()
    const comment: SandboxComment = {
      id: nodeId('IssueComment', String(databaseId)),
      databaseId,
      body,
      author,
      editor: null,
      createdAt: at,
      updatedAt: at,
      lastEditedAt: null,
      isMinimized: false
    }
    issue.comments.push(comment)
    issue.updatedAt = at
    return comment
  }

  /** Edit an issue's body, as its author or anyone with write access may. */
  editIssueBody(issue: SandboxIssue, editor: string, body: string): void {
    const at = this.now()
    issue.body = body
    issue.updatedAt = at
    issue.lastEditedAt = at
    issue.editor = editor
    issue.edits = [...(issue.edits ?? []), { editor, at }]
  }

  /** A user's permission on a repository (see {@link permissions}). */
  permissionOf(fullName: string, login: string): string {
    return this.permissions.get(`${fullName}:${login}`.toLowerCase()) ?? 'read'
  }

  editComment(issue: SandboxIssue, comment: SandboxComment, editor: string, body: string): void {
    const at = this.now()
    comment.body = body
    comment.updatedAt = at
    comment.lastEditedAt = at
    comment.editor = editor
    issue.updatedAt = at
  }

  addLabel(repo: SandboxRepo, issue: SandboxIssue, name: string, actor: string): void {
    const label = this.ensureLabel(repo, name)
    if (issue.labels.includes(label.name)) return
    const at = this.now()
    issue.labels.push(label.name)
    issue.events.push({
      type: 'LabeledEvent',
      id: nodeId('LabeledEvent', String(this.nextId())),
      actor,
      label: label.name,
      createdAt: at
    })
    issue.updatedAt = at
  }

  removeLabel(issue: SandboxIssue, name: string, actor: string): void {
    const index = issue.labels.findIndex((l) => l.toLowerCase() === name.toLowerCase())
    if (index < 0) return
    const at = this.now()
    const [removed] = issue.labels.splice(index, 1)
    issue.events.push({
      type: 'UnlabeledEvent',
      id: nodeId('UnlabeledEvent', String(this.nextId())),
      actor,
      label: removed ?? name,
      createdAt: at
    })
    issue.updatedAt = at
  }

  closeIssue(issue: SandboxIssue, actor: string, closer?: SandboxCloser): void {
    if (issue.state === 'CLOSED') return
    const at = this.now()
    issue.state = 'CLOSED'
    issue.closedAt = at
    issue.events.push({
      type: 'ClosedEvent',
      id: nodeId('ClosedEvent', String(this.nextId())),
      actor,
      ...(closer ? { closer } : {}),
      createdAt: at
    })
    issue.updatedAt = at
  }

  /**
   * Push a commit onto a branch (created from the default branch if new).
   * As on GitHub, a commit that lands on the default branch with a closing
   * keyword ("Fixes #N", "closes #N", …) closes issue N of the same
   * repository, the commit as the ClosedEvent's closer.
   */
  commit(fullName: string, branch: string, message: string, author: string): SandboxCommit {
    const repo = this.repo(fullName)
    const commit = this.pushCommit(repo, fullName, branch, message, author)
    if (branch === repo.defaultBranch) {
      for (const n of closingReferences(message)) {
        const issue = repo.issues.find((i) => i.number === n)
        if (issue) this.closeIssue(issue, author, { kind: 'commit', oid: commit.oid })
      }
    }
    return commit
  }

  /** Add a fork of a repository (its default branch's history copied), for fork pull requests. */
  addFork(baseFullName: string, forkFullName: string): SandboxRepo {
    const base = this.repo(baseFullName)
    const fork = this.repos.get(forkFullName.toLowerCase())
    if (fork) return fork
    const repo = this.addRepo(forkFullName, { defaultBranch: base.defaultBranch })
    const history = base.branches.get(base.defaultBranch) ?? []
    for (const oid of history) {
      const c = base.commits.get(oid)
      if (c) repo.commits.set(oid, c)
    }
    repo.branches.set(base.defaultBranch, [...history])
    return repo
  }

  /** Delete a repository (a fork going away): its pull requests keep their last head commit. */
  deleteRepo(fullName: string): void {
    const gone = this.repo(fullName)
    for (const repo of this.repos.values()) {
      for (const pull of repo.pulls) {
        if (pull.headRepository?.toLowerCase() !== fullName.toLowerCase()) continue
        const head = gone.branches.get(pull.headRefName)?.at(-1) ?? null
        const commit = head ? gone.commits.get(head) : undefined
        if (commit) repo.commits.set(commit.oid, commit)
        pull.lastHeadOid = head
        pull.headRepository = null
      }
    }
    this.repos.delete(fullName.toLowerCase())
  }

  /**
   * Merge a pull request into its base. Merging into the default branch
   * closes the issues its body's closing keywords name, the merger as the
   * ClosedEvent's actor. Its closer is the pull request for a merge commit;
   * for a squash merge GitHub reads the closing keywords from the squash
   * commit's message (which carries the pull request's body), so the closer
   * is that commit — a real-world shape the loop must still call a delivery.
   */
  mergePullRequest(
    fullName: string,
    number: number,
    actor: string,
    method: 'merge' | 'squash' = 'merge'
  ): SandboxCommit {
    const repo = this.repo(fullName)
    const pull = repo.pulls.find((p) => p.number === number)
    if (!pull) throw new Error(`sandbox: no pull request ${fullName}#${number}`)
    if (pull.state !== 'OPEN') throw new Error(`sandbox: ${fullName}#${number} is not open`)
    const at = this.now()
    const closing = pull.closes.map((n) => `Closes #${n}`).join('\n')
    const message =
      method === 'squash'
        ? `${pull.title} (#${number})\n\n${closing}`
        : `Merge pull request #${number} from ${pull.headRepository ?? 'a deleted fork'}/${pull.headRefName}\n\n${pull.title}`
    const merge = this.pushCommit(repo, fullName, pull.baseRefName, message, actor)
    pull.state = 'MERGED'
    pull.mergedAt = at
    pull.mergeCommitOid = merge.oid
    pull.updatedAt = at
    if (pull.baseRefName === repo.defaultBranch) {
      for (const n of pull.closes) {
        const issue = repo.issues.find((i) => i.number === n)
        const closer: SandboxCloser =
          method === 'squash' ? { kind: 'commit', oid: merge.oid } : { kind: 'pull', number }
        if (issue) this.closeIssue(issue, actor, closer)
      }
    }
    return merge
  }

  private pushCommit(
    repo: SandboxRepo,
    fullName: string,
    branch: string,
    message: string,
    author: string
  ): SandboxCommit {
    const history = repo.branches.get(branch) ?? [...(repo.branches.get(repo.defaultBranch) ?? [])]
    const commit: SandboxCommit = {
      oid: fakeOid(`${fullName}/${branch}/${history.length}/${message}/${this.nextId()}`),
      message,
      author,
      committedDate: this.now(),
      checkRuns: [],
      statuses: [],
      checkSuites: []
    }
    repo.commits.set(commit.oid, commit)
    repo.branches.set(branch, [...history, commit.oid])
    return commit
  }

  /**
   * Open a pull request from a branch, closing the given issues. The head
   * lives in the repository itself unless `headRepository` names a fork
   * (created on first use; push to it with `commit(fork, branch, …)`).
   * Anyone can open one from a fork, with any branch name and any "Closes #N".
   */
  openPullRequest(
    fullName: string,
    input: {
      head: string
      author: string
      closes: number[]
      title?: string
      isDraft?: boolean
      headRepository?: string
      authorAssociation?: string
    }
  ): SandboxPullRequest {
    const repo = this.repo(fullName)
    const number = repo.nextNumber++
    const at = this.now()
    const headRepository = input.headRepository ?? `${repo.owner}/${repo.name}`
    const isCrossRepository = headRepository.toLowerCase() !== fullName.toLowerCase()
    if (isCrossRepository) this.addFork(fullName, headRepository)
    const pull: SandboxPullRequest = {
      id: nodeId('PullRequest', `${repo.databaseId}/${number}`),
      number,
      title: input.title ?? `Changes from ${input.head}`,
      body: input.closes.map((n) => `Closes #${n}`).join('\n'),
      headRefName: input.head,
      headRepository,
      isCrossRepository,
      lastHeadOid: null,
      baseRefName: repo.defaultBranch,
      author: input.author,
      // Pushing a branch to the repository itself takes write access.
      authorAssociation: input.authorAssociation ?? (isCrossRepository ? 'NONE' : 'COLLABORATOR'),
      state: 'OPEN',
      mergedAt: null,
      mergeCommitOid: null,
      isDraft: input.isDraft ?? false,
      closes: input.closes,
      createdAt: at,
      updatedAt: at
    }
    repo.pulls.push(pull)
    for (const n of input.closes) {
      const issue = repo.issues.find((i) => i.number === n)
      if (issue) issue.updatedAt = at
    }
    return pull
  }

  headOf(fullName: string, branch: string): SandboxCommit | null {
    const repo = this.repo(fullName)
    const oid = repo.branches.get(branch)?.at(-1)
    return oid ? (repo.commits.get(oid) ?? null) : null
  }

  /** A pull request's head commit: its branch's tip in the head repository, or the last one seen. */
  pullHead(repo: SandboxRepo, pull: SandboxPullRequest): SandboxCommit | null {
    if (pull.headRepository) {
      const head = this.repos.get(pull.headRepository.toLowerCase())
      const oid = head?.branches.get(pull.headRefName)?.at(-1)
      return oid ? (head?.commits.get(oid) ?? null) : null
    }
    return pull.lastHeadOid ? (repo.commits.get(pull.lastHeadOid) ?? null) : null
  }

  /** A commit by oid, in this repository or any other (a fork's). */
  findCommit(fullName: string, oid: string): SandboxCommit | null {
    const own = this.repo(fullName).commits.get(oid)
    if (own) return own
    for (const repo of this.repos.values()) {
      const c = repo.commits.get(oid)
      if (c) return c
    }
    return null
  }

  /** Add one check run to a commit (a matrix job, a re-run), newest last. */
  addCheckRun(
    fullName: string,
    oid: string,
    run: Omit<SandboxCheckRun, 'id'> & { id?: number }
  ): SandboxCheckRun {
    const commit = this.findCommit(fullName, oid)
    if (!commit) throw new Error(`sandbox: no commit ${oid}`)
    const added = { ...run, id: run.id ?? this.nextId() }
    commit.checkRuns.push(added)
    return added
  }

  /** Set a commit's CI: one check run (and its suite) in the given state. */
  setCI(
    fullName: string,
    oid: string,
    ci: 'green' | 'red' | 'pending' | 'missing' | 'blocked',
    name = 'test'
  ): void {
    const commit = this.findCommit(fullName, oid)
    if (!commit) throw new Error(`sandbox: no commit ${oid}`)
    const shapes: Record<
      typeof ci,
      {
        run: Omit<SandboxCheckRun, 'id' | 'name'> | null
        suite: Omit<SandboxCheckSuite, 'id'> | null
      }
    > = {
      green: {
        run: { status: 'COMPLETED', conclusion: 'SUCCESS' },
        suite: { status: 'COMPLETED', conclusion: 'SUCCESS' }
      },
      red: {
        run: { status: 'COMPLETED', conclusion: 'FAILURE' },
        suite: { status: 'COMPLETED', conclusion: 'FAILURE' }
      },
      pending: {
        run: { status: 'IN_PROGRESS', conclusion: null },
        suite: { status: 'IN_PROGRESS', conclusion: null }
      },
      missing: { run: null, suite: null },
      blocked: { run: null, suite: { status: 'COMPLETED', conclusion: 'ACTION_REQUIRED' } }
    }
    const shape = shapes[ci]
    commit.checkRuns = shape.run ? [{ id: this.nextId(), name, ...shape.run }] : []
    commit.checkSuites = shape.suite ? [{ id: this.nextId(), ...shape.suite }] : []
    commit.statuses = []
  }
}

/**
 * Issue numbers a message closes with GitHub's closing keywords (close,
 * closes, closed, fix, fixes, fixed, resolve, resolves, resolved; any case;
 * an optional colon) followed by `#N` of the same repository.
 */
export function closingReferences(text: string): number[] {
  const pattern = /\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?):?\s+#(\d+)\b/gi
  return [...new Set([...text.matchAll(pattern)].map((m) => Number(m[1])))]
}
