/**
 * The GitHub port: the whole world of the allowlisted repositories in one
 * GraphQL query per 100 issues per repository, and each run's writes in one
 * mutation document.
 *
 * Reads (`readWorld`):
 * 1. Per repository, `WORLD_QUERY` page after page, its three issue
 *    connections in lockstep (see queries.ts), validated with zod; an issue
 *    that doesn't parse is dropped with a warning, not the whole repository.
 * 2. Per issue, the status comment is the first comment by the loop's own
 *    identity (`viewerDidAuthor`), not minimized, carrying the record marker.
 *    If it isn't on the first page of comments and there are more, the rest
 *    of the thread is read (the only extra request an issue can cost).
 *    Look-alikes by anyone else are reported as forged; an edit of the
 *    loop's comment by anyone else is reported as tampering.
 * 3. CI per commit by ci.ts; which commit counts is the loop's decision.
 * A repository that can't be read carries an `error`; only when none can be
 * read does `readWorld` throw.
 *
 * Writes (`apply`): refused before any request outside the allowlist; a
 * comment carrying an intent is re-read right before it is overwritten and a
 * changed body is refused; then one mutation document (comment, labels,
 * close), whose parts are checked one by one. Labels that don't exist yet are
 * created (REST) the first time they are added.
 */
import { z } from 'zod'
import { decode, MARKER } from '../core/bookkeeping.js'
import { runBranch } from '../core/prompts.js'
import type { Delivery } from '../core/types.js'
import { AUTHOR_ASSOCIATIONS, type AuthorAssociation, type RepoRef } from '../config.js'
import {
  ConflictError,
  PartialWriteError,
  RateLimitedError,
  type CandidateIssue,
  type ChangeResult,
  type Closer,
  type CommitFact,
  type ForgedComment,
  type GitHubPort,
  type LabelEventFact,
  type NoticeQuery,
  type PullRequestFact,
  type RepoWorld,
  type RunChange,
  type StatusComment,
  type TrackedIssue,
  type World
} from '../loop/ports.js'
import { ciStatus } from './ci.js'
import { asPermissionError } from './errors.js'
import type { GitHubClient, GitHubClients } from './client.js'
import {
  COMMENTS_QUERY,
  COMMENT_BODY_QUERY,
  NOTICE_QUERY,
  PULLS_QUERY,
  TRUNK_QUERY,
  WORLD_QUERY,
  changeMutation
} from './queries.js'

// ---------------------------------------------------------------- schemas ---

const login = z.object({ login: z.string() }).nullable()
const pageInfo = z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() })

const checks = {
  statusCheckRollup: z
    .object({
      contexts: z.object({
        nodes: z.array(
          z
            .discriminatedUnion('__typename', [
              z.object({
                __typename: z.literal('CheckRun'),
                name: z.string(),
                status: z.string(),
                conclusion: z.string().nullable(),
                detailsUrl: z.string().nullable().optional()
              }),
              z.object({
                __typename: z.literal('StatusContext'),
                context: z.string(),
                state: z.string(),
                targetUrl: z.string().nullable().optional()
              })
            ])
            .nullable()
        )
      })
    })
    .nullable(),
  checkSuites: z
    .object({
      nodes: z.array(
        z
          .object({
            status: z.string(),
            conclusion: z.string().nullable(),
            workflowRun: z.object({ url: z.string() }).nullable().optional()
          })
          .nullable()
      )
    })
    .nullable()
}

const commentSchema = z.object({
  id: z.string(),
  databaseId: z.number().nullable(),
  url: z.string(),
  body: z.string(),
  viewerDidAuthor: z.boolean(),
  isMinimized: z.boolean(),
  author: login,
  editor: login
})
type CommentNode = z.infer<typeof commentSchema>

const closerSchema = z
  .object({
    __typename: z.string(),
    number: z.number().optional(),
    oid: z.string().optional(),
    url: z.string().optional()
  })
  .nullable()
  .optional()

const timelineSchema = z
  .object({
    __typename: z.string(),
    createdAt: z.string().optional(),
    actor: login.optional(),
    label: z.object({ name: z.string() }).nullable().optional(),
    closer: closerSchema
  })
  .nullable()

const pullSchema = z
  .object({
    number: z.number(),
    url: z.string(),
    headRefName: z.string(),
    headRefOid: z.string(),
    state: z.enum(['OPEN', 'CLOSED', 'MERGED']),
    isDraft: z.boolean(),
    createdAt: z.string(),
    mergedAt: z.string().nullable(),
    isCrossRepository: z.boolean(),
    headRepository: z.object({ nameWithOwner: z.string() }).nullable(),
    authorAssociation: z.string(),
    author: login,
    commits: z.object({
      nodes: z.array(z.object({ commit: z.object({ oid: z.string(), ...checks }) }).nullable())
    })
  })
  .nullable()

const issueSchema = z.object({
  id: z.string(),
  number: z.number(),
  title: z.string(),
  body: z.string(),
  url: z.string(),
  state: z.enum(['OPEN', 'CLOSED']),
  createdAt: z.string(),
  updatedAt: z.string(),
  authorAssociation: z.string(),
  author: login,
  labels: z.object({ nodes: z.array(z.object({ name: z.string() }).nullable()) }).nullable(),
  timelineItems: z.object({ nodes: z.array(timelineSchema) }),
  comments: z.object({ pageInfo, nodes: z.array(commentSchema.nullable()) }),
  closedByPullRequestsReferences: z
    .object({ pageInfo: pageInfo.optional(), nodes: z.array(pullSchema) })
    .nullable()
})
type IssueNode = z.infer<typeof issueSchema>
type PullNode = z.infer<typeof pullSchema>

/** At most this many further pages of an issue's closing pull requests (25 each). */
const MAX_PULL_PAGES = 8

const pullsPageSchema = z.object({
  node: z
    .object({
      closedByPullRequestsReferences: z
        .object({ pageInfo: pageInfo.optional(), nodes: z.array(pullSchema) })
        .optional()
    })
    .nullable()
})

const connection = z.object({ pageInfo, nodes: z.array(z.unknown()) }).optional()
const labelRef = z.object({ id: z.string(), name: z.string() }).nullable().optional()

const commitNode = z.object({
  oid: z.string(),
  url: z.string(),
  message: z.string(),
  committedDate: z.string(),
  ...checks
})
type CommitNode = z.infer<typeof commitNode>

const trunkSchema = z.object({
  repository: z
    .object({
      defaultBranchRef: z
        .object({
          target: z
            .object({
              history: z.object({ nodes: z.array(commitNode.nullable()) }).optional()
            })
            .nullable()
        })
        .nullable()
    })
    .nullable()
})

const worldSchema = z.object({
  viewer: z.object({ login: z.string() }),
  rateLimit: z.object({ remaining: z.number(), resetAt: z.string() }).nullable(),
  repository: z
    .object({
      defaultBranchRef: z
        .object({
          name: z.string(),
          target: z
            .object({
              history: z
                .object({
                  nodes: z.array(commitNode.nullable())
                })
                .optional()
            })
            .nullable()
        })
        .nullable()
        .optional(),
      inProgressLabel: labelRef,
      readyLabel: labelRef,
      humanLabel: labelRef,
      inProgress: connection,
      recent: connection,
      ready: connection
    })
    .nullable()
})

const commentsPageSchema = z.object({
  node: z
    .object({ comments: z.object({ pageInfo, nodes: z.array(commentSchema.nullable()) }) })
    .nullable()
})

// ----------------------------------------------------------------- adapter ---

export interface GitHubAdapterOptions {
  clients: GitHubClients
  repos: RepoRef[]
  labels: { ready: string; inProgress: string; human: string }
  delivery: Delivery
  ignoreChecks: string[]
  now: () => Date
  /** Issues updated this recently stay tracked even without the in-progress label. */
  trackWindowSeconds: number
  /** Trunk delivery: how far back the default branch's history is read. */
  trunkWindowSeconds: number
  log?: { info(message: string): void; warning(message: string): void }
}

export interface GitHubAdapter extends GitHubPort {
  /** The rate limit as last seen in a response, for the log. */
  rateLimit(): { remaining: number; resetAt: string | null } | null
}

/** Labels the loop creates when a repository doesn't have them yet. */
const LABEL_LOOKS: Readonly<
  Record<'ready' | 'inProgress' | 'human', { color: string; description: string }>
> = {
  ready: { color: '0e8a16', description: 'An agent may pick this issue up (afk-loop)' },
  inProgress: { color: 'fbca04', description: 'An agent is working on this issue (afk-loop)' },
  human: { color: 'd93f0b', description: 'Handed back to a human (afk-loop)' }
}

/** `github-actions[bot]` (viewer) and `github-actions` (author) are one identity. */
export function sameIdentity(a: string | null | undefined, b: string | null | undefined): boolean {
  const norm = (s: string) => s.toLowerCase().replace(/\[bot\]$/, '')
  return !!a && !!b && norm(a) === norm(b)
}

const CONNECTIONS = ['inProgress', 'recent', 'ready'] as const
type ConnectionName = (typeof CONNECTIONS)[number]

export function createGitHubAdapter(options: GitHubAdapterOptions): GitHubAdapter {
  const { reader, writer } = options.clients
  const allowlist = new Map(options.repos.map((r) => [r.key, r]))
  /** Label name (lowercase) → node id, per repository, from reads and creations. */
  const labelIds = new Map<string, Map<string, string>>()
  let lastRateLimit: { remaining: number; resetAt: string | null } | null = null
  const warn = (message: string) => options.log?.warning(message)

  for (const client of [reader, writer]) {
    client.hook.after('request', (response) => {
      const headers = response.headers as Record<string, string | undefined>
      const remaining = Number(headers['x-ratelimit-remaining'])
      const reset = Number(headers['x-ratelimit-reset'])
      if (Number.isFinite(remaining)) {
        lastRateLimit = {
          remaining,
          resetAt: Number.isFinite(reset) ? new Date(reset * 1000).toISOString() : null
        }
      }
    })
  }

  async function query<T>(
    client: GitHubClient,
    document: string,
    variables: Record<string, unknown>,
    schema: z.ZodType<T>
  ): Promise<T> {
    let data: unknown
    try {
      data = await client.graphql(document, variables)
    } catch (error) {
      throw asRateLimited(error) ?? error
    }
    const parsed = schema.safeParse(data)
    if (!parsed.success) {
      const first = parsed.error.issues[0]
      throw new Error(
        `GitHub answered in an unexpected shape at ${first?.path.join('.') ?? '?'}: ${first?.message ?? ''}`
      )
    }
    return parsed.data
  }

  async function readRepo(
    repo: RepoRef
  ): Promise<{ world: RepoWorld; viewer: string; rateLimit: World['rateLimit'] }> {
    const now = options.now().getTime()
    const base = {
      owner: repo.owner,
      name: repo.name,
      inProgressLabel: options.labels.inProgress,
      readyLabel: options.labels.ready,
      humanLabel: options.labels.human,
      withTrunk: options.delivery === 'trunk',
      trunkSince: new Date(now - options.trunkWindowSeconds * 1000).toISOString(),
      since: new Date(now - options.trackWindowSeconds * 1000).toISOString()
    }
    const open: Record<ConnectionName, { more: boolean; after: string | null }> = {
      inProgress: { more: true, after: null },
      recent: { more: true, after: null },
      ready: { more: true, after: null }
    }
    const nodes: Record<ConnectionName, unknown[]> = { inProgress: [], recent: [], ready: [] }
    let viewer = ''
    let rateLimit: World['rateLimit'] = null
    let defaultBranch = 'main'
    let history: (CommitNode | null)[] = []
    for (let page = 0; CONNECTIONS.some((c) => open[c].more); page++) {
      const data = await query(
        reader,
        WORLD_QUERY,
        {
          ...base,
          firstPage: page === 0,
          withInProgress: open.inProgress.more,
          inProgressAfter: open.inProgress.after,
          withRecent: open.recent.more,
          recentAfter: open.recent.after,
          withReady: open.ready.more,
          readyAfter: open.ready.after
        },
        worldSchema
      )
      const r = data.repository
      if (!r) throw new Error(`repository ${repo.fullName} not found, or the token can't see it`)
      viewer = data.viewer.login
      rateLimit = data.rateLimit
      if (page === 0) {
        defaultBranch = r.defaultBranchRef?.name ?? defaultBranch
        history = r.defaultBranchRef?.target?.history?.nodes ?? []
        const ids = labelIds.get(repo.key) ?? new Map<string, string>()
        for (const label of [r.inProgressLabel, r.readyLabel, r.humanLabel]) {
          if (label) ids.set(label.name.toLowerCase(), label.id)
        }
        labelIds.set(repo.key, ids)
      }
      for (const name of CONNECTIONS) {
        if (!open[name].more) continue
        const conn = r[name]
        if (!conn) {
          open[name].more = false
          continue
        }
        nodes[name].push(...conn.nodes)
        open[name] = {
          more: conn.pageInfo.hasNextPage && !!conn.pageInfo.endCursor,
          after: conn.pageInfo.endCursor
        }
      }
    }

    // Parse each issue on its own: one odd issue must not hide the others.
    const issues = new Map<number, { node: IssueNode; from: Set<ConnectionName> }>()
    for (const name of CONNECTIONS) {
      for (const raw of nodes[name]) {
        if (raw === null) continue
        const parsed = issueSchema.safeParse(raw)
        if (!parsed.success) {
          const number = (raw as { number?: unknown }).number
          warn(
            `${repo.fullName}#${String(number)}: skipped, GitHub's answer didn't match what afk-loop expects (${parsed.error.issues[0]?.message ?? ''}).`
          )
          continue
        }
        const entry = issues.get(parsed.data.number) ?? { node: parsed.data, from: new Set() }
        entry.from.add(name)
        issues.set(parsed.data.number, entry)
      }
    }

    let trunk = history.filter((c): c is CommitNode => c !== null)
    const tracked: TrackedIssue[] = []
    const candidates: CandidateIssue[] = []
    for (const { node, from } of issues.values()) {
      const comments = await allComments(node)
      const status = statusCommentOf(comments, viewer)
      const forged = forgedOf(comments)
      const labels = (node.labels?.nodes ?? []).filter((l) => l !== null).map((l) => l.name)
      const hasLabel = (name: string) => labels.some((l) => l.toLowerCase() === name.toLowerCase())
      const inProgress = from.has('inProgress') || hasLabel(options.labels.inProgress)
      const pulls = pullRequestsOf(await allPullRequests(node), viewer)
      if (inProgress || (from.has('recent') && status !== null)) {
        tracked.push({
          id: node.id,
          number: node.number,
          title: node.title,
          body: node.body,
          url: node.url,
          state: node.state,
          labels,
          closedBy: closedByOf(node, viewer),
          labelEvents: labelEventsOf(node, viewer),
          statusComment: status,
          forgedComments: forged,
          pullRequests: pulls,
          trunkCommits: trunkCommitsOf(trunk, node.number)
        })
      }
      if (from.has('ready') && node.state === 'OPEN' && !inProgress) {
        const foreign = pulls.find(
          (p) => p.state === 'OPEN' && !p.byViewer && p.headRefName !== runBranch(node.number)
        )
        candidates.push({
          id: node.id,
          number: node.number,
          title: node.title,
          body: node.body,
          url: node.url,
          createdAt: node.createdAt,
          author: node.author?.login ?? null,
          authorAssociation: asAssociation(node.authorAssociation),
          labels,
          closedByOthersPullRequest: foreign ? { number: foreign.number, url: foreign.url } : null,
          pullRequests: pulls.filter((p) => p.state !== 'CLOSED'),
          statusComment: status,
          forgedComments: forged
        })
      }
    }
    // A run claimed under trunk delivery keeps it to its end, whatever the
    // input says now: read the history it needs if the input didn't.
    if (!base.withTrunk && tracked.some(claimedForTrunk)) {
      const data = await query(
        reader,
        TRUNK_QUERY,
        { owner: base.owner, name: base.name, trunkSince: base.trunkSince },
        trunkSchema
      )
      trunk = (data.repository?.defaultBranchRef?.target?.history?.nodes ?? []).filter(
        (c): c is CommitNode => c !== null
      )
      for (const issue of tracked) issue.trunkCommits = trunkCommitsOf(trunk, issue.number)
    }
    tracked.sort((a, b) => a.number - b.number)
    candidates.sort(
      (a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || a.number - b.number
    )
    return { world: { repo, defaultBranch, tracked, candidates, error: null }, viewer, rateLimit }

    /** The issue's comments, reading further pages only while the status comment hasn't been seen. */
    async function allComments(node: IssueNode): Promise<CommentNode[]> {
      const comments = node.comments.nodes.filter((c): c is CommentNode => c !== null)
      let page = node.comments.pageInfo
      while (page.hasNextPage && page.endCursor && statusCommentOf(comments, viewer) === null) {
        const data = await query(
          reader,
          COMMENTS_QUERY,
          { id: node.id, after: page.endCursor },
          commentsPageSchema
        )
        const more = data.node?.comments
        if (!more) break
        comments.push(...more.nodes.filter((c): c is CommentNode => c !== null))
        page = more.pageInfo
      }
      return comments
    }
  }

  /** A run still in flight whose record says it was claimed under trunk delivery. */
  function claimedForTrunk(issue: TrackedIssue): boolean {
    if (!issue.statusComment || issue.statusComment.editedByOther) return false
    const decoded = decode(issue.statusComment.body)
    return (
      decoded.kind === 'ok' &&
      decoded.record.delivery === 'trunk' &&
      decoded.record.terminal === null
    )
  }

  function statusCommentOf(comments: readonly CommentNode[], viewer: string): StatusComment | null {
    const mine = comments.find(
      (c) => c.viewerDidAuthor && !c.isMinimized && c.body.includes(MARKER)
    )
    if (!mine) return null
    const editor = mine.editor?.login ?? null
    return {
      id: mine.id,
      databaseId: mine.databaseId ?? 0,
      body: mine.body,
      editedByOther: editor !== null && !sameIdentity(editor, viewer),
      editor
    }
  }

  function forgedOf(comments: readonly CommentNode[]): ForgedComment[] {
    return comments
      .filter((c) => !c.viewerDidAuthor && c.body.includes(MARKER))
      .map((c) => ({ id: c.id, author: c.author?.login ?? null, url: c.url }))
  }

  function labelEventsOf(node: IssueNode, viewer: string): LabelEventFact[] {
    const events: LabelEventFact[] = []
    for (const item of node.timelineItems.nodes) {
      if (!item || !item.label || !item.createdAt) continue
      const action =
        item.__typename === 'LabeledEvent'
          ? 'added'
          : item.__typename === 'UnlabeledEvent'
            ? 'removed'
            : null
      if (!action) continue
      const actor = item.actor?.login ?? null
      events.push({
        label: item.label.name,
        action,
        actor,
        byViewer: sameIdentity(actor, viewer),
        at: item.createdAt
      })
    }
    return events.sort((a, b) => Date.parse(a.at) - Date.parse(b.at))
  }

  function closedByOf(node: IssueNode, viewer: string): TrackedIssue['closedBy'] {
    if (node.state !== 'CLOSED') return null
    const closed = [...node.timelineItems.nodes]
      .reverse()
      .find((i) => i?.__typename === 'ClosedEvent')
    const actor = closed?.actor?.login ?? null
    return {
      login: actor,
      byViewer: sameIdentity(actor, viewer),
      at: closed?.createdAt ?? null,
      closer: closerOf(closed?.closer ?? null)
    }
  }

  function closerOf(closer: z.infer<typeof closerSchema>): Closer | null {
    if (!closer) return null
    if (closer.__typename === 'PullRequest' && closer.number !== undefined && closer.url)
      return { kind: 'pull-request', number: closer.number, url: closer.url }
    if (closer.__typename === 'Commit' && closer.oid && closer.url)
      return { kind: 'commit', sha: closer.oid, url: closer.url }
    // A project (ProjectV2) or a kind GitHub adds later: not a delivery we know.
    return null
  }

  /**
   * Every pull request that closes the issue: further pages (25 at a time, up
   * to {@link MAX_PULL_PAGES}) only when the first five weren't all, so that
   * outsiders' pull requests can't push the run's own out of view.
   */
  async function allPullRequests(node: IssueNode): Promise<PullNode[]> {
    const refs = node.closedByPullRequestsReferences
    const pulls = [...(refs?.nodes ?? [])]
    let page = refs?.pageInfo
    for (let i = 0; page?.hasNextPage && page.endCursor && i < MAX_PULL_PAGES; i++) {
      const data = await query(
        reader,
        PULLS_QUERY,
        { id: node.id, after: page.endCursor },
        pullsPageSchema
      )
      const more = data.node?.closedByPullRequestsReferences
      if (!more) break
      pulls.push(...more.nodes)
      page = more.pageInfo
    }
    return pulls
  }

  function pullRequestsOf(nodes: readonly PullNode[], viewer: string): PullRequestFact[] {
    const pulls: PullRequestFact[] = []
    for (const pr of nodes) {
      if (!pr) continue
      const head = pr.commits.nodes.find((n) => n?.commit.oid === pr.headRefOid)?.commit ?? null
      const author = pr.author?.login ?? null
      pulls.push({
        number: pr.number,
        url: pr.url,
        headRefName: pr.headRefName,
        headSha: pr.headRefOid,
        author,
        byViewer: sameIdentity(author, viewer),
        state: pr.state,
        isDraft: pr.isDraft,
        createdAt: pr.createdAt,
        isCrossRepository: pr.isCrossRepository,
        headRepository: pr.headRepository?.nameWithOwner ?? null,
        authorAssociation: asAssociation(pr.authorAssociation),
        mergedAt: pr.mergedAt,
        // Only the head commit's CI counts; without it (not yet reported) CI is missing.
        ci: head ? ciOf(head) : { status: 'missing', url: null }
      })
    }
    return pulls.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))
  }

  function ciOf(commit: {
    statusCheckRollup: z.infer<typeof checks.statusCheckRollup>
    checkSuites: z.infer<typeof checks.checkSuites>
  }) {
    return ciStatus(
      {
        contexts: (commit.statusCheckRollup?.contexts.nodes ?? []).filter((c) => c !== null),
        checkSuites: (commit.checkSuites?.nodes ?? []).filter((s) => s !== null)
      },
      options.ignoreChecks
    )
  }

  function trunkCommitsOf(history: readonly CommitNode[], issue: number): CommitFact[] {
    const reference = new RegExp(`#${issue}(?!\\d)`)
    return history
      .filter((c) => reference.test(c.message))
      .map((c) => ({
        sha: c.oid,
        url: c.url,
        message: c.message,
        committedAt: c.committedDate,
        ci: ciOf(c)
      }))
      .sort((a, b) => Date.parse(b.committedAt) - Date.parse(a.committedAt))
  }

  // ------------------------------------------------------------ writes ---

  async function labelId(repo: RepoRef, name: string, create: boolean): Promise<string | null> {
    const ids = labelIds.get(repo.key) ?? new Map<string, string>()
    labelIds.set(repo.key, ids)
    const known = ids.get(name.toLowerCase())
    if (known || !create) return known ?? null
    const which = (Object.keys(LABEL_LOOKS) as (keyof typeof LABEL_LOOKS)[]).find(
      (k) => options.labels[k] === name
    )
    const look = which ? LABEL_LOOKS[which] : { color: 'ededed', description: '' }
    let nodeId: string
    try {
      const res = await writer.request('POST /repos/{owner}/{repo}/labels', {
        owner: repo.owner,
        repo: repo.name,
        name,
        ...look
      })
      nodeId = res.data.node_id
    } catch (error) {
      if ((error as { status?: number }).status !== 422) {
        throw (
          asRateLimited(error) ??
          asPermissionError(
            error,
            'issues: write',
            `create the label '${name}' in ${repo.fullName}`
          ) ??
          error
        )
      }
      // Created meanwhile (or by a human): look it up.
      const res = await reader.request('GET /repos/{owner}/{repo}/labels/{name}', {
        owner: repo.owner,
        repo: repo.name,
        name
      })
      nodeId = res.data.node_id
    }
    ids.set(name.toLowerCase(), nodeId)
    return nodeId
  }

  async function apply(change: RunChange): Promise<ChangeResult> {
    const repo = allowlist.get(change.repo.key)
    if (!repo) {
      throw new Error(
        `refusing to write to ${change.repo.fullName}: it is not in the repos allowlist`
      )
    }
    const addIds: string[] = []
    for (const name of change.addLabels ?? []) {
      const id = await labelId(repo, name, true)
      if (id) addIds.push(id)
    }
    const removeIds: string[] = []
    for (const name of change.removeLabels ?? []) {
      // A label the repository doesn't have is on no issue: nothing to remove.
      const id = await labelId(repo, name, false)
      if (id) removeIds.push(id)
    }

    const comment = change.comment
    if (comment?.id && comment.expectBody !== undefined) {
      const current = await query(
        reader,
        COMMENT_BODY_QUERY,
        { id: comment.id },
        z.object({ node: z.object({ body: z.string() }).nullable() })
      )
      if (current.node?.body !== comment.expectBody) {
        throw new ConflictError(
          `the status comment of ${repo.fullName}#${change.issue} changed since it was read; not overwriting it`
        )
      }
    }

    const parts = {
      addComment: !!comment && comment.id === null,
      updateComment: !!comment && comment.id !== null,
      addLabels: addIds.length > 0,
      removeLabels: removeIds.length > 0,
      close: change.close === true
    }
    const wanted = Object.entries(parts).filter(([, on]) => on)
    if (wanted.length === 0) return { commentId: comment?.id ?? null }
    const variables: Record<string, unknown> = {
      ...(parts.addComment || parts.addLabels || parts.removeLabels || parts.close
        ? { issue: change.issueId }
        : {}),
      ...(comment ? { body: comment.body } : {}),
      ...(parts.updateComment ? { commentId: comment?.id } : {}),
      ...(parts.addLabels ? { addLabels: addIds } : {}),
      ...(parts.removeLabels ? { removeLabels: removeIds } : {})
    }
    const aliases = [
      ...(parts.addComment || parts.updateComment ? ['comment'] : []),
      ...(parts.addLabels ? ['addLabels'] : []),
      ...(parts.removeLabels ? ['removeLabels'] : []),
      ...(parts.close ? ['close'] : [])
    ]
    let data: Record<string, unknown> | null
    try {
      data = await writer.graphql<Record<string, unknown>>(changeMutation(parts), variables)
    } catch (error) {
      const limited = asRateLimited(error)
      if (limited) throw limited
      const denied = asPermissionError(
        error,
        'issues: write',
        `change ${repo.fullName}#${change.issue}`
      )
      if (denied && !(error as { data?: unknown }).data) throw denied
      const partial = error as {
        data?: Record<string, unknown> | null
        errors?: { path?: (string | number)[]; message: string }[]
      }
      if (!partial.errors) throw error
      const failed = new Set(
        partial.errors.map((e) => String(e.path?.[0] ?? '')).filter((p) => aliases.includes(p))
      )
      const applied = aliases.filter((a) => !failed.has(a) && partial.data?.[a] != null)
      const messages = partial.errors.map((e) => e.message).join('; ')
      if (applied.length === 0) {
        if (denied) throw denied
        throw new Error(
          `GitHub refused the changes to ${repo.fullName}#${change.issue}: ${messages}`,
          { cause: error }
        )
      }
      throw new PartialWriteError(
        `only part of the changes to ${repo.fullName}#${change.issue} applied (failed: ${[...failed].join(', ') || 'unknown'}): ${messages}`,
        applied,
        aliases.filter((a) => !applied.includes(a))
      )
    }
    const result = data?.comment as
      { commentEdge?: { node?: { id?: string } }; issueComment?: { id?: string } } | undefined
    return {
      commentId: result?.commentEdge?.node?.id ?? result?.issueComment?.id ?? comment?.id ?? null
    }
  }

  /** Whether one of the loop's last 30 comments on the issue carries the marker. */
  async function findNotice(notice: NoticeQuery): Promise<boolean> {
    if (!allowlist.has(notice.repo.key)) {
      throw new Error(`refusing to read ${notice.repo.fullName}: it is not in the repos allowlist`)
    }
    const data = await query(
      reader,
      NOTICE_QUERY,
      { id: notice.issueId },
      z.object({
        node: z
          .object({
            comments: z
              .object({
                nodes: z.array(
                  z.object({ body: z.string(), viewerDidAuthor: z.boolean() }).nullable()
                )
              })
              .optional()
          })
          .nullable()
      })
    )
    return (data.node?.comments?.nodes ?? []).some(
      (c) => c !== null && c.viewerDidAuthor && c.body.includes(notice.marker)
    )
  }

  return {
    async readWorld(): Promise<World> {
      const repos: RepoWorld[] = []
      let viewer = ''
      let rateLimit: World['rateLimit'] = null
      for (const repo of options.repos) {
        try {
          const read = await readRepo(repo)
          repos.push(read.world)
          viewer = read.viewer
          rateLimit = read.rateLimit ?? rateLimit
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error)
          warn(`${repo.fullName} could not be read: ${message}`)
          repos.push({ repo, defaultBranch: '', tracked: [], candidates: [], error: message })
        }
      }
      if (repos.length > 0 && repos.every((r) => r.error !== null)) {
        throw new Error(
          `no allowlisted repository could be read: ${repos.map((r) => `${r.repo.fullName}: ${r.error ?? ''}`).join('; ')}`
        )
      }
      if (rateLimit) {
        options.log?.info(
          `GitHub rate limit: ${rateLimit.remaining} remaining (resets ${rateLimit.resetAt}).`
        )
      }
      return { viewer, repos, rateLimit }
    },
    apply,
    findNotice,
    missingLabels(repo: RepoRef): string[] {
      const ids = labelIds.get(repo.key)
      if (!ids) return []
      return [options.labels.ready, options.labels.inProgress, options.labels.human].filter(
        (name) => !ids.has(name.toLowerCase())
      )
    },
    async createLabel(repo: RepoRef, name: string): Promise<void> {
      const allowed = allowlist.get(repo.key)
      if (!allowed) {
        throw new Error(
          `refusing to create a label in ${repo.fullName}: it is not in the repos allowlist`
        )
      }
      await labelId(allowed, name, true)
    },
    rateLimit: () => lastRateLimit
  }
}

/** GitHub's association, or NONE for one this version doesn't know (never more trust than known). */
function asAssociation(value: string): AuthorAssociation {
  return (AUTHOR_ASSOCIATIONS as readonly string[]).includes(value)
    ? (value as AuthorAssociation)
    : 'NONE'
}

/** A rate-limit failure as the loop's {@link RateLimitedError}, or null. */
export function asRateLimited(error: unknown): RateLimitedError | null {
  const e = error as {
    status?: number
    message?: string
    response?: {
      headers?: Record<string, string | undefined>
      data?: { errors?: { type?: string }[] }
    }
    errors?: { type?: string }[]
  } | null
  if (!e) return null
  const headers = e.response?.headers ?? {}
  const graphqlLimited = [...(e.errors ?? []), ...(e.response?.data?.errors ?? [])].some(
    (x) => x.type === 'RATE_LIMITED'
  )
  const primary = (e.status === 403 || e.status === 429) && headers['x-ratelimit-remaining'] === '0'
  const secondary = (e.status === 403 || e.status === 429) && /rate limit/i.test(e.message ?? '')
  if (
    !graphqlLimited &&
    !primary &&
    !secondary &&
    !/GraphQL Rate Limit Exceeded/.test(e.message ?? '')
  )
    return null
  const reset = Number(headers['x-ratelimit-reset'])
  return new RateLimitedError(
    `GitHub's rate limit is spent${Number.isFinite(reset) ? ` until ${new Date(reset * 1000).toISOString()}` : ''}`,
    Number.isFinite(reset) ? new Date(reset * 1000).toISOString() : null
  )
}
