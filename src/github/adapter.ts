/**
 * The GitHub port: the whole world of the allowlisted repositories in a few
 * GraphQL points, and each run's writes in one mutation document.
 *
 * Reads (`readWorld`), priced by GitHub's formula (docs/reference/
 * github-graphql-costs.md):
 * 1. A census of every repository in one request (`worldQuery`): the points
 *    left, label ids, and the ids of the issues carrying the in-progress or
 *    the tracking label, of the first ready issues and (trunk delivery) of
 *    recent default-branch commits. Flat lists: 1 point for the lot.
 * 2. The details of those issues by `nodes(ids:)`, 100 a request, riding
 *    with the next census page: in-flight issues first, candidates only up to
 *    the free slots, trunk commits that reference a tracked issue. 1 point
 *    per 100. An issue that doesn't parse is dropped with a warning, not the
 *    whole repository.
 * 3. Per issue, the status comment is the first comment by the loop's own
 *    identity (`viewerDidAuthor`), not minimized, carrying the record marker.
 *    If it isn't on the first page of comments, the rest of the thread is
 *    read; the same for more than ten closing pull requests (up to 210: past
 *    that an in-flight issue's own pull requests are read by their branch,
 *    and the issue is marked `pullRequestsComplete: false`), and for a CI
 *    rollup longer than a page (a verdict never comes from part of a list).
 *    Look-alikes by anyone else are reported as forged; an edit of the
 *    loop's comment by anyone else is reported as tampering.
 * 4. CI per commit by ci.ts; which commit counts is the loop's decision.
 * A repository that can't be read carries an `error`; only when none can be
 * read does `readWorld` throw. Every query asks for `rateLimit`: the points
 * spent and left are logged and reported (`points()`).
 *
 * Writes (`apply`): refused before any request outside the allowlist; a
 * comment carrying an intent is re-read right before it is overwritten and a
 * changed body is refused; then one mutation document (comment, labels,
 * close), whose parts are checked one by one. The tracking label rides in
 * the same document, kept in step with the record written. Labels that don't
 * exist yet are created (REST) the first time they are added.
 *
 * `issueWhereabouts`: one REST `GET /repos/{o}/{r}/issues/{n}` (REST's
 * request budget, no GraphQL points) for the sweep of orphaned agents: a
 * redirect is followed to the issue's new home, and 404/410 are facts, not
 * failures.
 *
 * `pullRequestsOnBranch`: the pull requests of one branch of the repository
 * itself (1 point), which the loop reads for a run whose closing list was cut
 * while its agent names a branch of its own (Copilot).
 */
import { z } from 'zod'
import { decode, MARKER } from '../core/bookkeeping.js'
import { runBranch } from '../core/prompts.js'
import type { Delivery } from '../core/types.js'
import type { IssueWhereabouts } from '../core/orphans.js'
import { AUTHOR_ASSOCIATIONS, type AuthorAssociation, type RepoRef } from '../config.js'
import {
  ConflictError,
  PartialWriteError,
  RateLimitedError,
  type CandidateIssue,
  type ChangeResult,
  type Closer,
  type DashboardPort,
  type CommitFact,
  type ForgedComment,
  type GitHubPort,
  type LabelEventFact,
  type NoticeQuery,
  type PointsReport,
  type PullRequestFact,
  type RepoWorld,
  type RunChange,
  type StatusComment,
  type TrackedIssue,
  type World
} from '../loop/ports.js'
import { ciStatus } from './ci.js'
import {
  CREATE_DASHBOARD_MUTATION,
  DASHBOARD_BODY_QUERY,
  DASHBOARD_LABEL,
  DASHBOARD_LABEL_LOOK,
  associationFromPermission,
  findDashboard,
  updateDashboardMutation
} from './dashboard.js'
import { asPermissionError, asTokenRefused, isRateLimited } from './errors.js'
import type { GitHubClient, GitHubClients } from './client.js'
import {
  COMMENTS_QUERY,
  COMMENT_BODY_QUERY,
  NOTICE_QUERY,
  OWN_PULLS_QUERY,
  PULLS_QUERY,
  TRUNK_QUERY,
  changeMutation,
  rollupQuery,
  worldQuery,
  type CensusPart,
  type WorldShape
} from './queries.js'

// ---------------------------------------------------------------- schemas ---

const login = z.object({ login: z.string() }).nullable()
const pageInfo = z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() })

const contextsSchema = z.object({
  /** Set by the adapter when the rest of the list could not be read: never green. */
  incomplete: z.boolean().optional(),
  totalCount: z.number().optional(),
  pageInfo: pageInfo.optional(),
  nodes: z.array(
    z
      .discriminatedUnion('__typename', [
        z.object({
          __typename: z.literal('CheckRun'),
          name: z.string(),
          status: z.string(),
          conclusion: z.string().nullable(),
          detailsUrl: z.string().nullable().optional(),
          databaseId: z.number().nullable().optional(),
          startedAt: z.string().nullable().optional(),
          checkSuite: z
            .object({ app: z.object({ databaseId: z.number().nullable() }).nullable() })
            .nullable()
            .optional()
        }),
        z.object({
          __typename: z.literal('StatusContext'),
          context: z.string(),
          state: z.string(),
          targetUrl: z.string().nullable().optional(),
          createdAt: z.string().nullable().optional()
        })
      ])
      .nullable()
  )
})
type ContextsPage = z.infer<typeof contextsSchema>

const checks = {
  id: z.string().optional(),
  statusCheckRollup: z
    .object({ state: z.string().optional(), contexts: contextsSchema })
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
    mergeCommit: z.object({ oid: z.string() }).nullable().optional(),
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

/**
 * At most this many further pages of an issue's closing pull requests (25
 * each, 1 point each): with the first ten, 210 are read. Beyond that the list
 * is cut and the run's own are looked up by their branch instead
 * (`OWN_PULLS_QUERY`, 1 point); evidence never reads "nothing pushed" from a
 * cut list.
 */
export const MAX_PULL_PAGES = 8

const pullsPageSchema = z.object({
  rateLimit: z
    .object({ cost: z.number(), remaining: z.number(), resetAt: z.string() })
    .nullable()
    .optional(),
  node: z
    .object({
      closedByPullRequestsReferences: z
        .object({ pageInfo: pageInfo.optional(), nodes: z.array(pullSchema) })
        .optional()
    })
    .nullable()
})

const ownPullsSchema = z.object({
  rateLimit: z
    .object({ cost: z.number(), remaining: z.number(), resetAt: z.string() })
    .nullable()
    .optional(),
  repository: z
    .object({
      ref: z
        .object({ associatedPullRequests: z.object({ nodes: z.array(pullSchema) }) })
        .nullable()
        .optional(),
      closer: pullSchema.optional()
    })
    .nullable()
})

const labelRef = z.object({ id: z.string(), name: z.string() }).nullable().optional()
const idsSchema = z
  .object({
    totalCount: z.number(),
    pageInfo,
    nodes: z.array(z.object({ id: z.string(), number: z.number() }).nullable())
  })
  .optional()

const commitNode = z.object({
  oid: z.string(),
  url: z.string(),
  message: z.string(),
  committedDate: z.string(),
  ...checks
})
type CommitNode = z.infer<typeof commitNode>

const trunkNode = z.object({
  id: z.string(),
  oid: z.string(),
  url: z.string(),
  message: z.string(),
  committedDate: z.string()
})
type TrunkNode = z.infer<typeof trunkNode>

const rateLimitSchema = z
  .object({
    cost: z.number(),
    remaining: z.number(),
    resetAt: z.string(),
    limit: z.number().optional(),
    used: z.number().optional()
  })
  .nullable()
  .optional()

const trunkSchema = z.object({
  rateLimit: rateLimitSchema,
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

const censusSchema = z
  .object({
    defaultBranchRef: z
      .object({
        name: z.string(),
        target: z
          .object({ history: z.object({ nodes: z.array(trunkNode.nullable()) }).optional() })
          .nullable()
      })
      .nullable()
      .optional(),
    inProgressLabel: labelRef,
    trackedLabel: labelRef,
    readyLabel: labelRef,
    humanLabel: labelRef,
    ready: idsSchema,
    inProgress: idsSchema,
    tracked: idsSchema
  })
  .nullable()
type Census = NonNullable<z.infer<typeof censusSchema>>

const worldSchema = z
  .object({
    viewer: z.object({ login: z.string() }).optional(),
    rateLimit: rateLimitSchema,
    details: z.array(z.unknown().nullable()).optional()
  })
  .catchall(z.unknown())

const rollupSchema = z.object({ rateLimit: rateLimitSchema }).catchall(
  z
    .object({ statusCheckRollup: z.object({ contexts: contextsSchema }).nullable().optional() })
    .nullable()
    .or(z.unknown())
)

const commentsPageSchema = z.object({
  rateLimit: rateLimitSchema,
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
  /** Unused since issues are found by label, not by recent activity (kept for callers). */
  trackWindowSeconds?: number
  /** Trunk delivery: how far back the default branch's history is read. */
  trunkWindowSeconds: number
  /**
   * The concurrency caps: ready issues are read only up to the free slots
   * (plus a few, for candidates the poller skips). Default: 100 each.
   */
  maxConcurrent?: number
  maxConcurrentPerRepo?: number
  log?: { info(message: string): void; warning(message: string): void }
}

/**
 * The label that keeps an issue in view while the loop still owes it
 * something (a run in flight, a doorbell not yet delivered, an interrupt):
 * added with the in-progress label, removed in the write that leaves the
 * record with nothing owed. It is an index, not state: the record decides.
 */
export const TRACKED_LABEL = 'afk-loop'

/** Ready issues read beyond the free slots, for candidates the poller skips. */
const CANDIDATE_SLACK = 5

export interface GitHubAdapter extends GitHubPort {
  /** The rate limit as last seen in a response, for the log. */
  rateLimit(): { remaining: number; resetAt: string | null } | null
  issueWhereabouts(repo: RepoRef, issue: number): Promise<IssueWhereabouts>
  pullRequestsOnBranch(repo: RepoRef, branch: string): Promise<PullRequestFact[]>
}

/** Labels the loop creates when a repository doesn't have them yet. */
const LABEL_LOOKS: Readonly<
  Record<'ready' | 'inProgress' | 'human' | 'tracked', { color: string; description: string }>
> = {
  ready: { color: '0e8a16', description: 'An agent may pick this issue up (afk-loop)' },
  inProgress: { color: 'fbca04', description: 'An agent is working on this issue (afk-loop)' },
  human: { color: 'd93f0b', description: 'Handed back to a human (afk-loop)' },
  tracked: {
    color: 'c5def5',
    description:
      'afk-loop still owes this issue something (a run or a doorbell); it removes the label itself'
  }
}

/** `github-actions[bot]` (viewer) and `github-actions` (author) are one identity. */
export function sameIdentity(a: string | null | undefined, b: string | null | undefined): boolean {
  const norm = (s: string) => s.toLowerCase().replace(/\[bot\]$/, '')
  return !!a && !!b && norm(a) === norm(b)
}

export function createGitHubAdapter(options: GitHubAdapterOptions): GitHubAdapter {
  const { reader, writer } = options.clients
  const allowlist = new Map(options.repos.map((r) => [r.key, r]))
  /** Label name (lowercase) → node id, per repository, from reads and creations. */
  const labelIds = new Map<string, Map<string, string>>()
  let lastRateLimit: { remaining: number; resetAt: string | null } | null = null
  const warn = (message: string) => options.log?.warning(message)
  /** Points this tick's queries cost (rateLimit.cost summed) and the budget as last seen. */
  const points: PointsReport = { spent: 0, remaining: null, limit: null, resetAt: null }

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
        // GraphQL's points (resource `graphql`), after reads and writes alike.
        if (headers['x-ratelimit-resource'] === 'graphql') {
          points.remaining = remaining
          const limit = Number(headers['x-ratelimit-limit'])
          if (Number.isFinite(limit)) points.limit = limit
          if (lastRateLimit.resetAt) points.resetAt = lastRateLimit.resetAt
        }
      }
    })
  }
  /** Mutation documents sent this tick: each costs 1 point (no connections) but can't report it. */
  let writePoints = 0

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
      throw asRateLimited(error) ?? asTokenRefused(error) ?? error
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

  /** Each read issue's labels (lowercase), so writes keep the tracking label in step. */
  const issueLabels = new Map<string, Set<string>>()
  const labelsOf = (node: IssueNode): string[] =>
    (node.labels?.nodes ?? []).filter((l) => l !== null).map((l) => l.name)

  const notePoints = (rate: z.infer<typeof rateLimitSchema>) => {
    if (!rate) return
    points.spent += rate.cost
    points.remaining = rate.remaining
    points.limit = rate.limit ?? points.limit
    points.resetAt = rate.resetAt
  }

  /**
   * A query whose answer may be partial: GitHub answers 200 with `data` and
   * `errors` (one repository not found); the errors come back with the data.
   */
  async function partialQuery(
    document: string,
    variables: Record<string, unknown>
  ): Promise<{
    data: Record<string, unknown>
    errors: { path?: (string | number)[]; message: string }[]
  }> {
    try {
      const data = await reader.graphql<Record<string, unknown>>(document, variables)
      return { data: data ?? {}, errors: [] }
    } catch (error) {
      const limited = asRateLimited(error) ?? asTokenRefused(error)
      if (limited) throw limited
      const partial = error as {
        data?: Record<string, unknown> | null
        errors?: { path?: (string | number)[]; message: string }[]
      }
      if (!partial.errors || !partial.data) throw error
      return { data: partial.data, errors: partial.errors }
    }
  }

  interface RepoRead {
    repo: RepoRef
    error: string | null
    census: Census | null
    defaultBranch: string
    trunk: TrunkNode[]
    inProgress: { ids: string[]; after: string | null; more: boolean; total: number }
    tracked: { ids: string[]; after: string | null; more: boolean }
    ready: string[]
    readyTotal: number
  }

  /**
   * Read every allowlisted repository: census pages and details pipelined,
   * in-flight issues before candidates, then the rest of long comment
   * threads and long CI rollups. Candidates are read only up to the free
   * slots.
   */
  async function readAll(): Promise<{
    reads: RepoRead[]
    viewer: string
    details: Map<string, unknown>
  }> {
    const now = options.now().getTime()
    const reads: RepoRead[] = options.repos.map((repo) => ({
      repo,
      error: null,
      census: null,
      defaultBranch: '',
      trunk: [],
      inProgress: { ids: [], after: null, more: true, total: 0 },
      tracked: { ids: [], after: null, more: true },
      ready: [],
      readyTotal: 0
    }))
    const capPerRepo = options.maxConcurrentPerRepo ?? 100
    const shared = {
      inProgressLabel: options.labels.inProgress,
      trackedLabel: TRACKED_LABEL,
      readyLabel: options.labels.ready,
      humanLabel: options.labels.human,
      withTrunk: options.delivery === 'trunk',
      trunkSince: new Date(now - options.trunkWindowSeconds * 1000).toISOString()
    }
    const details = new Map<string, unknown>()
    const queue: string[] = []
    const queued = new Set<string>()
    const enqueue = (ids: readonly string[]) => {
      for (const id of ids) {
        if (queued.has(id)) continue
        queued.add(id)
        queue.push(id)
      }
    }
    let viewer = ''
    let firstRequest = true
    let candidatesQueued = false

    for (;;) {
      const parts = reads.map((r): CensusPart | null => {
        if (r.error !== null) return null
        if (firstRequest) return { first: true, inProgress: null, tracked: null }
        const part: CensusPart = { first: false }
        if (r.inProgress.more) part.inProgress = r.inProgress.after
        if (r.tracked.more) part.tracked = r.tracked.after
        return part.inProgress !== undefined || part.tracked !== undefined ? part : null
      })
      const censusLeft = parts.some((p) => p !== null)
      if (!censusLeft && !candidatesQueued) {
        // Every in-flight issue is known: now the candidates, up to the free slots.
        candidatesQueued = true
        const inFlight = reads.reduce((n, r) => n + r.inProgress.total, 0)
        let free = Math.max(0, (options.maxConcurrent ?? 100) - inFlight)
        for (const r of reads) {
          if (r.error !== null) continue
          const slots = Math.min(free, Math.max(0, capPerRepo - r.inProgress.total))
          if (slots === 0) continue
          free -= Math.min(slots, r.ready.length)
          enqueue(r.ready.slice(0, slots + CANDIDATE_SLACK))
        }
      }
      const ids = queue.splice(0, 100)
      if (!censusLeft && ids.length === 0) break
      const shape: WorldShape = { repos: parts, details: ids.length > 0 }
      const variables: Record<string, unknown> = { ...(ids.length ? { ids } : {}) }
      parts.forEach((part, i) => {
        if (!part) return
        const r = reads[i]
        if (!r) return
        variables[`o${i}`] = r.repo.owner
        variables[`n${i}`] = r.repo.name
        if (part.first) {
          const slots = Math.max(0, capPerRepo - 0)
          variables[`ready${i}`] = Math.max(1, Math.min(100, slots + CANDIDATE_SLACK))
          Object.assign(variables, shared)
        }
        if (part.inProgress !== undefined) {
          variables[`ip${i}`] = part.inProgress
          variables.inProgressLabel = shared.inProgressLabel
        }
        if (part.tracked !== undefined) {
          variables[`tr${i}`] = part.tracked
          variables.trackedLabel = shared.trackedLabel
        }
      })
      const { data, errors } = await partialQuery(worldQuery(shape), variables)
      const parsed = worldSchema.safeParse(data)
      if (!parsed.success) {
        const issue = parsed.error.issues[0]
        throw new Error(
          `GitHub answered in an unexpected shape at ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? ''}`
        )
      }
      notePoints(parsed.data.rateLimit)
      viewer = parsed.data.viewer?.login ?? viewer
      if (ids.length > 0 && !parsed.data.details) {
        throw new Error(
          `GitHub did not answer the details of ${ids.length} issue(s): ${errors.map((e) => e.message).join('; ')}`
        )
      }
      ids.forEach((id, k) => details.set(id, parsed.data.details?.[k] ?? null))
      parts.forEach((part, i) => {
        const r = reads[i]
        if (!part || !r) return
        const failed = errors.find((e) => e.path?.[0] === `r${i}`)
        const census = censusSchema.safeParse(data[`r${i}`] ?? null)
        if (failed || !census.success || census.data === null) {
          r.error =
            failed?.message ??
            (census.success
              ? `${r.repo.fullName} was not found`
              : `GitHub answered in an unexpected shape: ${census.error.issues[0]?.message ?? ''}`)
          return
        }
        const c = census.data
        if (part.first) {
          r.census = c
          r.defaultBranch = c.defaultBranchRef?.name ?? 'main'
          r.trunk = (c.defaultBranchRef?.target?.history?.nodes ?? []).filter(
            (n): n is TrunkNode => n !== null
          )
          r.ready = (c.ready?.nodes ?? []).filter((n) => n !== null).map((n) => n.id)
          r.readyTotal = c.ready?.totalCount ?? 0
          const ids = labelIds.get(r.repo.key) ?? new Map<string, string>()
          for (const label of [c.inProgressLabel, c.trackedLabel, c.readyLabel, c.humanLabel]) {
            if (label) ids.set(label.name.toLowerCase(), label.id)
          }
          labelIds.set(r.repo.key, ids)
        }
        for (const [name, list] of [
          ['inProgress', c.inProgress],
          ['tracked', c.tracked]
        ] as const) {
          if (!list) continue
          const nodes = list.nodes.filter((n) => n !== null)
          const into = r[name]
          into.ids.push(...nodes.map((n) => n.id))
          into.more = list.pageInfo.hasNextPage && !!list.pageInfo.endCursor
          into.after = list.pageInfo.endCursor
          if (name === 'inProgress') r.inProgress.total = list.totalCount
          enqueue(nodes.map((n) => n.id))
        }
      })
      // Trunk commits that reference a tracked issue: their CI comes with the details.
      if (shared.withTrunk) {
        for (const r of reads) {
          const numbers = new Set<number>()
          for (const id of [...r.inProgress.ids, ...r.tracked.ids]) {
            const node = details.get(id) as { number?: number } | undefined
            if (node?.number !== undefined) numbers.add(node.number)
          }
          enqueue(
            r.trunk
              .filter((c) => [...numbers].some((n) => references(c.message, n)))
              .map((c) => c.id)
          )
        }
      }
      firstRequest = false
    }
    return { reads, viewer, details }
  }

  /** The rest of every rollup longer than a page, so a verdict never comes from part of the list. */
  async function completeRollups(commits: Map<string, ContextsPage>): Promise<void> {
    let open = [...commits.entries()].filter(([, page]) => page.pageInfo?.hasNextPage)
    while (open.length > 0) {
      const batch = open.slice(0, 20)
      const variables: Record<string, unknown> = {}
      batch.forEach(([id, page], i) => {
        variables[`c${i}`] = id
        variables[`a${i}`] = page.pageInfo?.endCursor ?? null
      })
      const data = await query(reader, rollupQuery(batch.length), variables, rollupSchema)
      notePoints(data.rateLimit)
      batch.forEach(([, page], i) => {
        const more = (
          data[`c${i}`] as { statusCheckRollup?: { contexts: ContextsPage } | null } | null
        )?.statusCheckRollup?.contexts
        if (!more) {
          page.pageInfo = { hasNextPage: false, endCursor: null }
          page.incomplete = true
          return
        }
        page.nodes.push(...more.nodes)
        page.pageInfo = more.pageInfo ?? { hasNextPage: false, endCursor: null }
      })
      open = [...commits.entries()].filter(([, page]) => page.pageInfo?.hasNextPage)
    }
  }

  /** Build each repository's world from what was read. */
  async function assemble(
    read: RepoRead,
    viewer: string,
    details: Map<string, unknown>
  ): Promise<RepoWorld> {
    const { repo } = read
    const issueOf = (id: string): IssueNode | null => {
      const raw = details.get(id)
      if (!raw) return null
      const parsed = issueSchema.safeParse(raw)
      if (!parsed.success) {
        warn(
          `${repo.fullName}#${String((raw as { number?: unknown }).number)}: skipped, GitHub's answer didn't match what afk-loop expects (${parsed.error.issues[0]?.message ?? ''}).`
        )
        return null
      }
      return parsed.data
    }
    const trunk = read.trunk
      .map((t) => {
        const raw = details.get(t.id)
        const parsed = raw ? commitNode.safeParse(raw) : null
        return parsed?.success ? parsed.data : null
      })
      .filter((c): c is CommitNode => c !== null)

    const tracked: TrackedIssue[] = []
    const candidates: CandidateIssue[] = []
    const seen = new Set<string>()
    const inProgressIds = new Set(read.inProgress.ids)
    for (const id of [...read.inProgress.ids, ...read.tracked.ids]) {
      if (seen.has(id)) continue
      seen.add(id)
      const node = issueOf(id)
      if (!node) continue
      const comments = await allComments(node, viewer)
      const status = statusCommentOf(comments, viewer)
      const labels = labelsOf(node)
      issueLabels.set(node.id, new Set(labels.map((l) => l.toLowerCase())))
      const inProgress =
        inProgressIds.has(id) || labels.some((l) => sameLabel(l, options.labels.inProgress))
      // The tracking label alone means nothing without the loop's own record.
      if (!inProgress && status === null) continue
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
        forgedComments: forgedOf(comments),
        ...(await trackedPullRequests(repo, node, viewer)),
        trunkCommits: trunkCommitsOf(trunk, node.number)
      })
    }
    for (const id of read.ready) {
      if (seen.has(id) || !details.has(id)) continue
      seen.add(id)
      const node = issueOf(id)
      if (!node || node.state !== 'OPEN') continue
      const labels = labelsOf(node)
      issueLabels.set(node.id, new Set(labels.map((l) => l.toLowerCase())))
      if (labels.some((l) => sameLabel(l, options.labels.inProgress))) continue
      const comments = await allComments(node, viewer)
      const pulls = pullRequestsOf((await allPullRequests(node)).pulls, viewer)
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
        pullRequests: pulls.filter((p) => p.state !== 'CLOSED'),
        statusComment: statusCommentOf(comments, viewer),
        forgedComments: forgedOf(comments)
      })
    }
    // A run claimed under trunk delivery keeps it to its end, whatever the
    // input says now: read the history it needs if the input didn't.
    // (A rare follow-up: 2 points, only while such a run is in flight.)
    if (options.delivery !== 'trunk' && tracked.some(claimedForTrunk)) {
      const data = await query(
        reader,
        TRUNK_QUERY,
        {
          owner: repo.owner,
          name: repo.name,
          trunkSince: new Date(
            options.now().getTime() - options.trunkWindowSeconds * 1000
          ).toISOString()
        },
        trunkSchema
      )
      notePoints(data.rateLimit)
      const history = (data.repository?.defaultBranchRef?.target?.history?.nodes ?? []).filter(
        (c): c is CommitNode => c !== null
      )
      for (const issue of tracked) issue.trunkCommits = trunkCommitsOf(history, issue.number)
    }
    tracked.sort((a, b) => a.number - b.number)
    candidates.sort(
      (a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || a.number - b.number
    )
    return { repo, defaultBranch: read.defaultBranch, tracked, candidates, error: null }
  }

  /** The issue's comments, reading further pages only while the status comment hasn't been seen. */
  async function allComments(node: IssueNode, viewer: string): Promise<CommentNode[]> {
    const comments = node.comments.nodes.filter((c): c is CommentNode => c !== null)
    let page = node.comments.pageInfo
    while (page.hasNextPage && page.endCursor && statusCommentOf(comments, viewer) === null) {
      const data = await query(
        reader,
        COMMENTS_QUERY,
        { id: node.id, after: page.endCursor },
        commentsPageSchema
      )
      notePoints(data.rateLimit)
      const more = data.node?.comments
      if (!more) break
      comments.push(...more.nodes.filter((c): c is CommentNode => c !== null))
      page = more.pageInfo
    }
    return comments
  }

  /** Every rollup page of the commits a world's details carry, by commit id. */
  function rollupsOf(details: Map<string, unknown>): Map<string, ContextsPage> {
    const pages = new Map<string, ContextsPage>()
    const visit = (
      commit:
        { id?: string; statusCheckRollup?: { contexts?: ContextsPage } | null } | null | undefined
    ) => {
      const contexts = commit?.statusCheckRollup?.contexts
      if (commit?.id && contexts) pages.set(commit.id, contexts)
    }
    for (const raw of details.values()) {
      const node = raw as {
        __typename?: string
        closedByPullRequestsReferences?: {
          nodes?: ({
            commits?: { nodes?: ({ commit?: Parameters<typeof visit>[0] } | null)[] }
          } | null)[]
        } | null
      } | null
      if (!node) continue
      if (node.__typename === 'Commit') visit(node as Parameters<typeof visit>[0])
      for (const pr of node.closedByPullRequestsReferences?.nodes ?? []) {
        for (const c of pr?.commits?.nodes ?? []) visit(c?.commit)
      }
    }
    return pages
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
   * The pull requests that close the issue: further pages (25 at a time, up
   * to {@link MAX_PULL_PAGES}) only when the first ten weren't all. `complete`
   * is false when pages were left unread.
   */
  async function allPullRequests(
    node: IssueNode
  ): Promise<{ pulls: PullNode[]; complete: boolean }> {
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
      notePoints(data.rateLimit)
      const more = data.node?.closedByPullRequestsReferences
      if (!more) break
      pulls.push(...more.nodes)
      page = more.pageInfo
    }
    return { pulls, complete: !(page?.hasNextPage ?? false) }
  }

  /**
   * An in-flight issue's pull requests. When the closing list is longer than
   * what is read, outsiders may have pushed the run's own out of it: the
   * run's own are then read by their branch in this repository (which no
   * fork can crowd), with the pull request that closed the issue, and merged
   * in (1 point, only for such an issue). Which of them is the run's work is
   * evidence's decision; `pullRequestsComplete: false` tells it the list
   * was cut.
   */
  async function trackedPullRequests(
    repo: RepoRef,
    node: IssueNode,
    viewer: string
  ): Promise<Pick<TrackedIssue, 'pullRequests' | 'pullRequestsComplete'>> {
    const { pulls, complete } = await allPullRequests(node)
    if (complete) return { pullRequests: pullRequestsOf(pulls, viewer) }
    const closer = closedByOf(node, viewer)?.closer
    const closerNumber = closer?.kind === 'pull-request' ? closer.number : null
    const own = await branchPulls(repo, runBranch(node.number), closerNumber)
    const found = [...own.onBranch, own.closer]
    const seen = new Set(pulls.map((p) => p?.number))
    for (const pr of found) {
      if (pr && !seen.has(pr.number)) {
        seen.add(pr.number)
        pulls.push(pr)
      }
    }
    warn(
      `${repo.fullName}#${node.number}: more than ${10 + 25 * MAX_PULL_PAGES} pull requests close this issue; read the first ${10 + 25 * MAX_PULL_PAGES} and the run's own by its branch (${runBranch(node.number)}).`
    )
    return { pullRequests: pullRequestsOf(pulls, viewer), pullRequestsComplete: false }
  }

  /** The loop's own login as the last `readWorld` saw it (for `byViewer`). */
  let lastViewer = ''

  /**
   * The open and merged pull requests whose head is `branch` in `repo`
   * itself, newest first (the first five), and, when asked, the pull request
   * numbered `closer`: `OWN_PULLS_QUERY`, 1 point. `ref(qualifiedName:)`
   * names a ref of this repository, so a fork's pull request from a branch
   * of the same name is never among them; any head elsewhere is dropped
   * besides.
   */
  async function branchPulls(
    repo: RepoRef,
    branch: string,
    closer: number | null
  ): Promise<{ onBranch: PullNode[]; closer: PullNode | null }> {
    const data = await query(
      reader,
      OWN_PULLS_QUERY,
      {
        owner: repo.owner,
        name: repo.name,
        branch: `refs/heads/${branch}`,
        closer: closer ?? 0,
        withCloser: closer !== null
      },
      ownPullsSchema
    )
    notePoints(data.rateLimit)
    const onBranch = (data.repository?.ref?.associatedPullRequests.nodes ?? []).filter(
      (p) =>
        p !== null &&
        !p.isCrossRepository &&
        p.headRefName === branch &&
        p.headRepository?.nameWithOwner.toLowerCase() === repo.key
    )
    return { onBranch, closer: data.repository?.closer ?? null }
  }

  /** A branch's own pull requests (see {@link branchPulls}), for a run whose agent names its branch. */
  async function pullRequestsOnBranch(repo: RepoRef, branch: string): Promise<PullRequestFact[]> {
    const r = allowlist.get(repo.key)
    if (!r) throw new Error(`refusing to read ${repo.fullName}: it is not in the repos allowlist`)
    return pullRequestsOf((await branchPulls(r, branch, null)).onBranch, lastViewer)
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
        mergeCommitSha: pr.mergeCommit?.oid ?? null,
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
    const contexts = commit.statusCheckRollup?.contexts
    return ciStatus(
      {
        contexts: (contexts?.nodes ?? []).filter((c) => c !== null),
        checkSuites: (commit.checkSuites?.nodes ?? []).filter((s) => s !== null),
        // Paged to the end by completeRollups; a list cut short is never green.
        complete: !contexts?.incomplete && !contexts?.pageInfo?.hasNextPage
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
    const which = (['ready', 'inProgress', 'human'] as const).find(
      (k) => options.labels[k] === name
    )
    const look =
      name === TRACKED_LABEL
        ? LABEL_LOOKS.tracked
        : name === DASHBOARD_LABEL
          ? DASHBOARD_LABEL_LOOK
          : which
            ? LABEL_LOOKS[which]
            : { color: 'ededed', description: '' }
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

  /**
   * Keep the tracking label in step with the record this change writes: on
   * while the loop owes the issue anything (a run in flight, a doorbell, an
   * interrupt), off in the write that leaves nothing owed. It rides in the
   * change's own mutation, so it costs no request.
   */
  function trackingChange(change: RunChange): { add: string[]; remove: string[] } {
    const has = issueLabels.get(change.issueId)?.has(TRACKED_LABEL.toLowerCase())
    let owes: boolean | null = null
    if (change.comment) {
      const decoded = decode(change.comment.body)
      if (decoded.kind === 'ok') {
        const r = decoded.record
        const undelivered = r.outbox.some((e) => e.abandonedAt === null && e.pending.length > 0)
        owes = !r.terminal || undelivered || r.terminal.interrupt !== null
      }
    }
    if (owes === null && change.addLabels?.some((l) => sameLabel(l, options.labels.inProgress)))
      owes = true
    if (owes === true && has !== true) return { add: [TRACKED_LABEL], remove: [] }
    if (owes === false && has !== false) return { add: [], remove: [TRACKED_LABEL] }
    return { add: [], remove: [] }
  }

  async function apply(change: RunChange): Promise<ChangeResult> {
    const repo = allowlist.get(change.repo.key)
    if (!repo) {
      throw new Error(
        `refusing to write to ${change.repo.fullName}: it is not in the repos allowlist`
      )
    }
    const tracking = trackingChange(change)
    const addIds: string[] = []
    for (const name of [...(change.addLabels ?? []), ...tracking.add]) {
      const id = await labelId(repo, name, true)
      if (id) addIds.push(id)
    }
    const removeIds: string[] = []
    for (const name of [...(change.removeLabels ?? []), ...tracking.remove]) {
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
        z.object({ rateLimit: rateLimitSchema, node: z.object({ body: z.string() }).nullable() })
      )
      notePoints(current.rateLimit)
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
      writePoints++
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
    const known = issueLabels.get(change.issueId)
    if (known) {
      for (const name of [...(change.addLabels ?? []), ...tracking.add])
        known.add(name.toLowerCase())
      for (const name of [...(change.removeLabels ?? []), ...tracking.remove])
        known.delete(name.toLowerCase())
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
        rateLimit: rateLimitSchema,
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
    notePoints(data.rateLimit)
    return (data.node?.comments?.nodes ?? []).some(
      (c) => c !== null && c.viewerDidAuthor && c.body.includes(notice.marker)
    )
  }

  /** The dashboard's repository ids, from its reads, for createIssue. */
  const repositoryIds = new Map<string, string>()
  const allowed = (repo: RepoRef, what: string): RepoRef => {
    const known = allowlist.get(repo.key)
    if (!known)
      throw new Error(`refusing to ${what} ${repo.fullName}: it is not in the repos allowlist`)
    return known
  }
  /** One dashboard write (1 point), its failures as the loop's errors. */
  async function dashboardWrite<T>(
    repo: RepoRef,
    document: string,
    variables: Record<string, unknown>
  ): Promise<T> {
    writePoints++
    try {
      return await writer.graphql<T>(document, variables)
    } catch (error) {
      throw (
        asRateLimited(error) ??
        asPermissionError(
          error,
          'issues: write',
          `write the dashboard issue in ${repo.fullName}`
        ) ??
        error
      )
    }
  }
  const dashboard: DashboardPort = {
    async readDashboard(repo, viewer, marker) {
      const r = allowed(repo, 'read')
      const found = await findDashboard(
        async (document, variables) => {
          const data = await query(
            reader,
            document,
            variables,
            z.object({ rateLimit: rateLimitSchema }).passthrough()
          )
          notePoints(data.rateLimit)
          return data
        },
        r,
        viewer,
        marker,
        (login) => sameIdentity(login, viewer)
      )
      repositoryIds.set(r.key, found.repositoryId)
      if (found.labelId) {
        const ids = labelIds.get(r.key) ?? new Map<string, string>()
        ids.set(DASHBOARD_LABEL.toLowerCase(), found.labelId)
        labelIds.set(r.key, ids)
      }
      return found.issue
    },
    async createDashboard(repo, title, body) {
      const r = allowed(repo, 'write to')
      const repositoryId = repositoryIds.get(r.key)
      if (!repositoryId)
        throw new Error(`${r.fullName}: the dashboard is created only after it was looked for`)
      const label = await labelId(r, DASHBOARD_LABEL, true)
      const data = await dashboardWrite<{
        createIssue: { issue: { id: string; number: number; url: string } }
      }>(r, CREATE_DASHBOARD_MUTATION, {
        repositoryId,
        title,
        body,
        labelIds: label ? [label] : []
      })
      return {
        ...data.createIssue.issue,
        body,
        editorsSinceLoop: [],
        labelled: label !== null,
        closed: false
      }
    },
    async updateDashboard(repo, issue, body) {
      const r = allowed(repo, 'write to')
      if (body !== null) {
        const current = await query(
          reader,
          DASHBOARD_BODY_QUERY,
          { id: issue.id },
          z.object({ rateLimit: rateLimitSchema, node: z.object({ body: z.string() }).nullable() })
        )
        notePoints(current.rateLimit)
        if (current.node?.body !== issue.body) {
          throw new ConflictError(
            `the dashboard of ${r.fullName} changed since it was read; not overwriting it (next tick reads it again)`
          )
        }
      }
      const label = issue.labelled ? null : await labelId(r, DASHBOARD_LABEL, true)
      const document = updateDashboardMutation({
        body: body !== null,
        reopen: issue.closed,
        label: label !== null
      })
      if (!document) return
      await dashboardWrite(r, document, {
        id: issue.id,
        ...(body !== null ? { body } : {}),
        ...(label !== null ? { label } : {})
      })
    },
    async associationOf(repo, user) {
      const r = allowed(repo, 'read')
      const res = await reader.request(
        'GET /repos/{owner}/{repo}/collaborators/{username}/permission',
        {
          owner: r.owner,
          repo: r.name,
          username: user
        }
      )
      return associationFromPermission(r, user, res.data)
    }
  }

  return {
    dashboard,
    async readWorld(): Promise<World> {
      points.spent = 0
      writePoints = 0
      const { reads, viewer, details } = await readAll()
      lastViewer = viewer
      await completeRollups(rollupsOf(details))
      const repos: RepoWorld[] = []
      for (const read of reads) {
        if (read.error !== null) {
          warn(`${read.repo.fullName} could not be read: ${read.error}`)
          repos.push({
            repo: read.repo,
            defaultBranch: '',
            tracked: [],
            candidates: [],
            error: read.error
          })
          continue
        }
        repos.push(await assemble(read, viewer, details))
      }
      if (repos.length > 0 && repos.every((r) => r.error !== null)) {
        throw new Error(
          `no allowlisted repository could be read: ${repos.map((r) => `${r.repo.fullName}: ${r.error ?? ''}`).join('; ')}`
        )
      }
      options.log?.info(
        `GitHub GraphQL points: ${points.spent} spent reading the world${points.remaining !== null ? `, ${points.remaining}${points.limit !== null ? ` of ${points.limit}` : ''} left (resets ${points.resetAt ?? '?'})` : ''}.`
      )
      return {
        viewer,
        repos,
        rateLimit:
          points.remaining !== null
            ? { remaining: points.remaining, resetAt: points.resetAt ?? '' }
            : null,
        points: { ...points }
      }
    },
    apply,
    points: () => ({ ...points, spent: points.spent + writePoints }),
    findNotice,
    pullRequestsOnBranch,
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
    async issueWhereabouts(repo: RepoRef, issue: number): Promise<IssueWhereabouts> {
      const r = allowlist.get(repo.key)
      if (!r) throw new Error(`refusing to read ${repo.fullName}: it is not in the repos allowlist`)
      // GitHub answers a transferred issue with 301 to its new home, 404 when
      // the token can't read where it went (or it was deleted there), 410 when
      // deleted where it can. The redirect is followed by hand, once, and only
      // on GitHub's own origin: a renamed repository redirects too (same
      // number, new name), and a 301 with an empty Location has been seen.
      const answer = async (route: string, params: Record<string, unknown>) => {
        try {
          const res = await reader.request(route, { ...params, request: { redirect: 'manual' } })
          return { status: res.status as number, data: res.data as unknown, headers: res.headers }
        } catch (error) {
          const status = (error as { status?: unknown }).status
          if (status === 404 || status === 410) return { status, data: null, headers: {} }
          throw asRateLimited(error) ?? error
        }
      }
      let res = await answer('GET /repos/{owner}/{repo}/issues/{issue_number}', {
        owner: r.owner,
        repo: r.name,
        issue_number: issue
      })
      if (res.status === 301) {
        const location = String((res.headers as Record<string, unknown>).location ?? '')
        const base = String(reader.request.endpoint.DEFAULTS.baseUrl)
        if (!location || !sameOrigin(location, base)) return { status: 301, to: null }
        res = await answer(`GET ${location}`, {})
        if (res.status === 301) return { status: 301, to: null }
      }
      if (res.status === 404 || res.status === 410) return { status: res.status }
      const data = (res.data ?? {}) as { number?: unknown; repository_url?: unknown }
      const home = /\/repos\/([^/]+\/[^/]+?)\/?$/.exec(String(data.repository_url ?? ''))?.[1]
      if (res.status !== 200 || !home || typeof data.number !== 'number') {
        throw new Error(
          `GitHub answered ${r.fullName}#${issue} with HTTP ${res.status} and no issue in it`
        )
      }
      return { status: 200, repo: home, number: data.number }
    },
    rateLimit: () => lastRateLimit
  }
}

/** Whether a URL is on the API's own origin (a redirect elsewhere would carry the token there). */
function sameOrigin(url: string, base: string): boolean {
  try {
    return new URL(url).origin === new URL(base).origin
  } catch {
    return false
  }
}

/** Label names are case-insensitive on GitHub. */
function sameLabel(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase()
}

/** Does a commit message reference issue #n (not #nn)? */
function references(message: string, n: number): boolean {
  return new RegExp(`#${n}(?!\\d)`).test(message)
}

/** GitHub's association, or NONE for one this version doesn't know (never more trust than known). */
function asAssociation(value: string): AuthorAssociation {
  return (AUTHOR_ASSOCIATIONS as readonly string[]).includes(value)
    ? (value as AuthorAssociation)
    : 'NONE'
}

/**
 * A rate-limit failure as the loop's {@link RateLimitedError}, or null.
 * GraphQL's spent budget is HTTP 200 with an error of type `RATE_LIMITED`
 * (documented) or `RATE_LIMIT` (seen in 2026; the throttling plugin only
 * knows the first, so both are checked here); REST's is 403/429 with
 * `x-ratelimit-remaining: 0`, or a secondary limit's `retry-after` or wording
 * ({@link isRateLimited}). See docs/reference/github-graphql-costs.md.
 */
export function asRateLimited(error: unknown): RateLimitedError | null {
  if (!isRateLimited(error)) return null
  const e = error as {
    headers?: Record<string, string | undefined>
    response?: { headers?: Record<string, string | undefined> }
  }
  const headers = e.response?.headers ?? e.headers ?? {}
  const reset = Number(headers['x-ratelimit-reset'])
  return new RateLimitedError(
    `GitHub's rate limit is spent${Number.isFinite(reset) ? ` until ${new Date(reset * 1000).toISOString()}` : ''}`,
    Number.isFinite(reset) ? new Date(reset * 1000).toISOString() : null
  )
}
