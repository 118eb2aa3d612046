/**
 * GraphQL for the loopback GitHub, executed against GitHub's real schema
 * (the introspection result shipped in `@octokit/graphql-schema`) with
 * `graphql`'s own executor: a query GitHub would reject fails here the same
 * way, before any resolver runs.
 *
 * Resolvers are views over the store: objects whose properties are named
 * like the schema's fields (graphql's default resolver reads a property, or
 * calls it with the field's arguments). Only the fields the action uses are
 * backed; any other field resolves to null, which a non-null field in the
 * schema turns into an error — loud, as it should be.
 */
import { readFileSync } from 'node:fs'
import { packageFile } from '../package-file.js'
import {
  buildClientSchema,
  execute,
  parse,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type IntrospectionQuery
} from 'graphql'
import { NODE_LIMIT, queryCost, type PointBudget, type QueryCost } from './cost.js'
import { nodeId } from './store.js'
import type {
  GitHubStore,
  SandboxCloser,
  SandboxComment,
  SandboxCommit,
  SandboxIssue,
  SandboxPullRequest,
  SandboxRepo
} from './store.js'

let cachedSchema: GraphQLSchema | null = null

/** GitHub's schema, built once per process. */
export function githubSchema(): GraphQLSchema {
  if (!cachedSchema) {
    const path = packageFile('@octokit/graphql-schema', 'schema.json')
    const json = JSON.parse(readFileSync(path, 'utf8')) as {
      data?: IntrospectionQuery
    } & IntrospectionQuery
    cachedSchema = buildClientSchema(json.data ?? json)
  }
  return cachedSchema
}

export interface GraphQLContext {
  store: GitHubStore
  /** The token's login. */
  viewer: string
  /** The token's hourly points, charged by GitHub's formula before a query runs. */
  budget?: PointBudget
  /** Set by executeGraphQL: this query's cost, for `rateLimit { cost }`. */
  cost?: number
  nodes?: number
  /**
   * The error type of a spent budget: GitHub documents `RATE_LIMITED`;
   * `RATE_LIMIT` (code `graphql_rate_limit`) has been seen in 2026 answers.
   */
  rateLimitedType?: 'RATE_LIMITED' | 'RATE_LIMIT'
  /** Called after each mutation field is applied (for kill-after-k-writes). */
  onMutationApplied?: () => void
  /**
   * Answer like GitHub Enterprise Cloud: `filterBy.createdBy` naming a
   * GitHub App's login matches no issue, even one that app opened
   * (renovatebot/renovate#44730: github.com matches `name[bot]`, GHEC not).
   */
  createdByMatchesNoApp?: boolean
}

type Args = Record<string, unknown>

interface ConnectionArgs {
  first?: number | null
  last?: number | null
  after?: string | null
  before?: string | null
}

const cursor = (index: number): string => Buffer.from(`cursor:${index}`).toString('base64')
const fromCursor = (value: string | null | undefined): number | null => {
  if (!value) return null
  const match = /^cursor:(\d+)$/.exec(Buffer.from(value, 'base64').toString())
  if (!match) throw new Error(`\`${value}\` does not appear to be a valid cursor.`)
  return Number(match[1])
}

/** A GraphQL connection over a list, with GitHub's first/last ≤ 100 rule. */
function connection<T>(items: readonly T[], args: ConnectionArgs) {
  for (const key of ['first', 'last'] as const) {
    const n = args[key]
    if (n !== undefined && n !== null && (n < 0 || n > 100)) {
      throw new Error(
        `Requesting ${n} records on the connection exceeds the \`${key}\` limit of 100 records.`
      )
    }
  }
  let start = 0
  let end = items.length
  const after = fromCursor(args.after)
  const before = fromCursor(args.before)
  if (after !== null) start = after + 1
  if (before !== null) end = Math.min(end, before)
  if (typeof args.first === 'number') end = Math.min(end, start + args.first)
  if (typeof args.last === 'number') start = Math.max(start, end - args.last)
  const slice = items.slice(start, end)
  return {
    totalCount: items.length,
    nodes: slice,
    edges: slice.map((node, i) => ({ node, cursor: cursor(start + i) })),
    pageInfo: {
      hasNextPage: end < items.length,
      hasPreviousPage: start > 0,
      startCursor: slice.length ? cursor(start) : null,
      endCursor: slice.length ? cursor(end - 1) : null
    }
  }
}

/** How an identity appears: apps are Bots (`login`), others Users. */
function actor(store: GitHubStore, login: string | null) {
  if (!login) return null
  const bot = store.bots.has(login)
  return {
    __typename: bot ? 'Bot' : 'User',
    login,
    id: `actor:${login}`,
    url: `https://github.com/${bot ? 'apps/' : ''}${login}`,
    avatarUrl: ''
  }
}

/** The viewer's login as `viewer` shows it: apps carry `[bot]`. */
export function viewerLogin(store: GitHubStore, login: string): string {
  return store.bots.has(login) ? `${login}[bot]` : login
}

const repoUrl = (repo: SandboxRepo) => `https://github.com/${repo.owner}/${repo.name}`

function checkRollup(store: GitHubStore, repo: SandboxRepo, commit: SandboxCommit) {
  const contexts = [
    ...commit.checkRuns.map((run) => ({
      __typename: 'CheckRun',
      id: `checkrun:${run.id}`,
      databaseId: run.id,
      name: run.name,
      status: run.status,
      conclusion: run.conclusion,
      detailsUrl: `${repoUrl(repo)}/runs/${run.id}`,
      url: `${repoUrl(repo)}/runs/${run.id}`,
      startedAt: run.startedAt ?? commit.committedDate,
      completedAt: run.status === 'COMPLETED' ? (run.startedAt ?? commit.committedDate) : null,
      checkSuite: {
        id: `suite-of:${run.id}`,
        app: { id: `app:${run.app ?? 15368}`, databaseId: run.app ?? 15368, slug: 'github-actions' }
      },
      isRequired: () => false
    })),
    ...commit.statuses.map((s, i) => ({
      __typename: 'StatusContext',
      id: `status:${commit.oid}:${i}`,
      context: s.context,
      state: s.state,
      targetUrl: `${repoUrl(repo)}/status/${i}`,
      createdAt: s.createdAt ?? commit.committedDate,
      description: null,
      isRequired: () => false
    }))
  ]
  if (contexts.length === 0 && commit.checkSuites.length === 0) return null
  const states = [
    ...commit.checkRuns.map((r) =>
      r.status !== 'COMPLETED'
        ? 'PENDING'
        : ['SUCCESS', 'NEUTRAL', 'SKIPPED'].includes(r.conclusion ?? '')
          ? 'SUCCESS'
          : 'FAILURE'
    ),
    ...commit.statuses.map((s) => (s.state === 'EXPECTED' ? 'PENDING' : s.state))
  ]
  const state =
    states.includes('FAILURE') || states.includes('ERROR')
      ? 'FAILURE'
      : states.includes('PENDING')
        ? 'PENDING'
        : states.length
          ? 'SUCCESS'
          : 'PENDING'
  return {
    id: `rollup:${commit.oid}`,
    state,
    contexts: (args: ConnectionArgs) => connection(contexts, args),
    commit: () => commitView(store, repo, commit)
  }
}

function commitView(
  store: GitHubStore,
  repo: SandboxRepo,
  commit: SandboxCommit
): Record<string, unknown> {
  return {
    __typename: 'Commit',
    id: `commit:${commit.oid}`,
    oid: commit.oid,
    abbreviatedOid: commit.oid.slice(0, 7),
    url: `${repoUrl(repo)}/commit/${commit.oid}`,
    message: commit.message,
    messageHeadline: commit.message.split('\n')[0],
    committedDate: commit.committedDate,
    authoredDate: commit.committedDate,
    statusCheckRollup: () => checkRollup(store, repo, commit),
    status: () => null,
    checkSuites: (args: ConnectionArgs) =>
      connection(
        commit.checkSuites.map((suite) => ({
          id: `suite:${suite.id}`,
          databaseId: suite.id,
          status: suite.status,
          conclusion: suite.conclusion,
          url: `${repoUrl(repo)}/actions/runs/${suite.id}`,
          workflowRun: {
            id: `run:${suite.id}`,
            databaseId: suite.id,
            url: `${repoUrl(repo)}/actions/runs/${suite.id}`,
            runNumber: 1
          },
          app: null,
          branch: null
        })),
        args
      ),
    history: (args: ConnectionArgs & { since?: string; until?: string }) => {
      // History of the branch this commit heads, newest first.
      const branch = [...repo.branches.entries()].find(([, oids]) => oids.at(-1) === commit.oid)
      const oids = branch ? [...branch[1]].reverse() : [commit.oid]
      const since = args.since ? Date.parse(args.since) : -Infinity
      const until = args.until ? Date.parse(args.until) : Infinity
      const commits = oids
        .map((oid) => repo.commits.get(oid))
        .filter((c): c is SandboxCommit => !!c)
        .filter((c) => Date.parse(c.committedDate) >= since && Date.parse(c.committedDate) <= until)
      return connection(
        commits.map((c) => commitView(store, repo, c)),
        args
      )
    }
  }
}

function commentView(
  ctx: GraphQLContext,
  repo: SandboxRepo,
  issue: SandboxIssue,
  comment: SandboxComment
): Record<string, unknown> {
  return {
    __typename: 'IssueComment',
    id: comment.id,
    databaseId: comment.databaseId,
    fullDatabaseId: String(comment.databaseId),
    body: comment.body,
    url: `${repoUrl(repo)}/issues/${issue.number}#issuecomment-${comment.databaseId}`,
    createdAt: comment.createdAt,
    updatedAt: comment.updatedAt,
    lastEditedAt: comment.lastEditedAt,
    isMinimized: comment.isMinimized,
    minimizedReason: null,
    author: actor(ctx.store, comment.author),
    editor: actor(ctx.store, comment.editor),
    viewerDidAuthor: comment.author === ctx.viewer,
    authorAssociation: comment.author === ctx.viewer ? 'NONE' : 'MEMBER',
    issue: () => issueView(ctx, repo, issue)
  }
}

function pullView(
  ctx: GraphQLContext,
  repo: SandboxRepo,
  pull: SandboxPullRequest
): Record<string, unknown> {
  const head = ctx.store.pullHead(repo, pull)
  const headRepo = pull.headRepository
    ? (ctx.store.repos.get(pull.headRepository.toLowerCase()) ?? null)
    : null
  return {
    __typename: 'PullRequest',
    id: pull.id,
    number: pull.number,
    title: pull.title,
    body: pull.body,
    url: `${repoUrl(repo)}/pull/${pull.number}`,
    state: pull.state,
    isDraft: pull.isDraft,
    merged: pull.state === 'MERGED',
    mergedAt: pull.mergedAt,
    mergeCommit: () => {
      const merged = pull.mergeCommitOid ? repo.commits.get(pull.mergeCommitOid) : undefined
      return merged ? commitView(ctx.store, repo, merged) : null
    },
    isCrossRepository: pull.isCrossRepository,
    headRepository: () => (headRepo ? repoView(ctx, headRepo) : null),
    authorAssociation: pull.authorAssociation,
    createdAt: pull.createdAt,
    updatedAt: pull.updatedAt,
    headRefName: pull.headRefName,
    baseRefName: pull.baseRefName,
    headRefOid: head?.oid ?? '0'.repeat(40),
    author: actor(ctx.store, pull.author),
    viewerDidAuthor: pull.author === ctx.viewer,
    statusCheckRollup: () => (head ? checkRollup(ctx.store, repo, head) : null),
    headRef: () =>
      head
        ? {
            id: `ref:${pull.headRefName}`,
            name: pull.headRefName,
            target: commitView(ctx.store, repo, head)
          }
        : null,
    commits: (args: ConnectionArgs) =>
      connection(
        head ? [{ id: `prc:${head.oid}`, commit: commitView(ctx.store, repo, head) }] : [],
        args
      )
  }
}

/** A ClosedEvent's closer: the merged pull request or the pushed commit. */
function closerView(
  ctx: GraphQLContext,
  repo: SandboxRepo,
  closer: SandboxCloser | undefined
): Record<string, unknown> | null {
  if (!closer) return null
  if (closer.kind === 'pull') {
    const pull = repo.pulls.find((p) => p.number === closer.number)
    return pull ? pullView(ctx, repo, pull) : null
  }
  const commit = repo.commits.get(closer.oid)
  return commit ? commitView(ctx.store, repo, commit) : null
}

const TIMELINE_TYPES: Readonly<Record<string, string>> = {
  LABELED_EVENT: 'LabeledEvent',
  UNLABELED_EVENT: 'UnlabeledEvent',
  CLOSED_EVENT: 'ClosedEvent',
  REOPENED_EVENT: 'ReopenedEvent'
}

function issueView(
  ctx: GraphQLContext,
  repo: SandboxRepo,
  issue: SandboxIssue
): Record<string, unknown> {
  const url = `${repoUrl(repo)}/issues/${issue.number}`
  return {
    __typename: 'Issue',
    id: issue.id,
    databaseId: issue.databaseId,
    number: issue.number,
    title: issue.title,
    body: issue.body,
    url,
    state: issue.state,
    stateReason: issue.state === 'CLOSED' ? 'COMPLETED' : null,
    closed: issue.state === 'CLOSED',
    closedAt: issue.closedAt,
    createdAt: issue.createdAt,
    updatedAt: issue.updatedAt,
    authorAssociation: issue.authorAssociation,
    author: actor(ctx.store, issue.author),
    viewerDidAuthor: issue.author === ctx.viewer,
    lastEditedAt: issue.lastEditedAt ?? null,
    editor: actor(ctx.store, issue.editor ?? null),
    userContentEdits: (args: ConnectionArgs) =>
      connection(
        (issue.edits ?? []).map((e, i) => ({
          id: `edit:${issue.id}:${i}`,
          editedAt: e.at,
          createdAt: e.at,
          updatedAt: e.at,
          editor: actor(ctx.store, e.editor),
          diff: null,
          deletedAt: null,
          deletedBy: null
        })),
        args
      ),
    repository: () => repoView(ctx, repo),
    labels: (args: ConnectionArgs) =>
      connection(
        issue.labels.map((name) => {
          const label = repo.labels.find((l) => l.name === name)
          return { id: label?.id ?? name, name, color: label?.color ?? 'ededed', description: null }
        }),
        args
      ),
    comments: (args: ConnectionArgs) =>
      connection(
        issue.comments.map((c) => commentView(ctx, repo, issue, c)),
        args
      ),
    timelineItems: (args: ConnectionArgs & { itemTypes?: string[]; since?: string }) => {
      const wanted = args.itemTypes?.map((t) => TIMELINE_TYPES[t] ?? t)
      const since = args.since ? Date.parse(args.since) : -Infinity
      const events = issue.events
        .filter((e) => (!wanted || wanted.includes(e.type)) && Date.parse(e.createdAt) >= since)
        .map((e) => ({
          __typename: e.type,
          id: e.id,
          createdAt: e.createdAt,
          actor: actor(ctx.store, e.actor),
          label: e.label ? { id: e.label, name: e.label, color: 'ededed' } : null,
          closer: closerView(ctx, repo, e.closer),
          stateReason: e.type === 'ClosedEvent' ? 'COMPLETED' : null
        }))
      return {
        ...connection(events, args),
        filteredCount: events.length,
        pageCount: 1,
        updatedAt: issue.updatedAt
      }
    },
    closedByPullRequestsReferences: (args: ConnectionArgs & { includeClosedPrs?: boolean }) =>
      connection(
        repo.pulls
          .filter((p) => p.closes.includes(issue.number))
          .filter((p) => args.includeClosedPrs || p.state === 'OPEN')
          .map((p) => pullView(ctx, repo, p)),
        args
      )
  }
}

const ISSUE_ORDER: Readonly<Record<string, (i: SandboxIssue) => string>> = {
  CREATED_AT: (i) => i.createdAt,
  UPDATED_AT: (i) => i.updatedAt
}

function repoView(ctx: GraphQLContext, repo: SandboxRepo): Record<string, unknown> {
  const defaultHead = ctx.store.headOf(`${repo.owner}/${repo.name}`, repo.defaultBranch)
  return {
    __typename: 'Repository',
    id: repo.id,
    databaseId: repo.databaseId,
    name: repo.name,
    nameWithOwner: `${repo.owner}/${repo.name}`,
    url: repoUrl(repo),
    owner: actor(ctx.store, repo.owner),
    defaultBranchRef: {
      id: `ref:${repo.defaultBranch}`,
      name: repo.defaultBranch,
      prefix: 'refs/heads/',
      target: defaultHead ? commitView(ctx.store, repo, defaultHead) : null
    },
    label: ({ name }: { name: string }) => {
      const label = repo.labels.find((l) => l.name.toLowerCase() === name.toLowerCase())
      return label ? { ...label } : null
    },
    labels: (args: ConnectionArgs) =>
      connection(
        repo.labels.map((l) => ({ ...l })),
        args
      ),
    issue: ({ number }: { number: number }) => {
      const issue = repo.issues.find((i) => i.number === number)
      return issue ? issueView(ctx, repo, issue) : null
    },
    pullRequests: (args: ConnectionArgs & { states?: string[] | null }) =>
      connection(
        repo.pulls
          .filter((p) => !args.states || args.states.includes(p.state))
          .map((p) => pullView(ctx, repo, p)),
        args
      ),
    pullRequest: ({ number }: { number: number }) => {
      const pull = repo.pulls.find((p) => p.number === number)
      return pull ? pullView(ctx, repo, pull) : null
    },
    // A ref of this repository (a full name, or GitHub's fallback to a short
    // one). Its associatedPullRequests are those whose head is this very ref:
    // a fork's pull request from a branch of the same name has its head in
    // the fork, so it is not among them.
    ref: ({ qualifiedName }: { qualifiedName: string }) => {
      const branch = qualifiedName.replace(/^refs\/heads\//, '')
      const head = ctx.store.headOf(`${repo.owner}/${repo.name}`, branch)
      if (!head) return null
      const fullName = `${repo.owner}/${repo.name}`.toLowerCase()
      return {
        __typename: 'Ref',
        id: `ref:${branch}`,
        name: branch,
        prefix: 'refs/heads/',
        target: commitView(ctx.store, repo, head),
        associatedPullRequests: (
          args: ConnectionArgs & {
            states?: string[] | null
            orderBy?: { field: string; direction: 'ASC' | 'DESC' } | null
          }
        ) => {
          const order = args.orderBy ?? { field: 'CREATED_AT', direction: 'ASC' }
          const at = (p: SandboxPullRequest) =>
            order.field === 'UPDATED_AT' ? p.updatedAt : p.createdAt
          const pulls = repo.pulls
            .filter(
              (p) =>
                !p.isCrossRepository &&
                p.headRepository?.toLowerCase() === fullName &&
                p.headRefName === branch
            )
            .filter((p) => !args.states || args.states.includes(p.state))
            .sort((a, b) =>
              order.direction === 'DESC'
                ? at(b).localeCompare(at(a)) || b.number - a.number
                : at(a).localeCompare(at(b)) || a.number - b.number
            )
          return connection(
            pulls.map((p) => pullView(ctx, repo, p)),
            args
          )
        }
      }
    },
    issues: (
      args: ConnectionArgs & {
        labels?: string[] | null
        states?: string[] | null
        filterBy?: {
          since?: string
          labels?: string[]
          states?: string[]
          createdBy?: string
        } | null
        orderBy?: { field: string; direction: 'ASC' | 'DESC' } | null
      }
    ) => {
      // Issues carrying ANY of the labels: what GitHub staff describe for the
      // connection's `labels:` argument (cli/cli#589, an "OR" between labels).
      // For `filterBy.labels` no source says (the schema: "the list of label
      // names exist on the issue"); the loop asks one label at a time, where
      // both readings agree.
      const labels = args.labels ?? args.filterBy?.labels ?? null
      const states = args.states ?? args.filterBy?.states ?? null
      const since = args.filterBy?.since ? Date.parse(args.filterBy.since) : -Infinity
      // github.com matches an app by its `name[bot]` login (as `viewer` shows it), not `name`;
      // GHEC matches no app at all.
      const createdBy = args.filterBy?.createdBy?.toLowerCase() ?? null
      const noApp =
        ctx.createdByMatchesNoApp === true &&
        createdBy !== null &&
        [...ctx.store.bots].some(
          (b) => createdBy === b.toLowerCase() || createdBy === `${b.toLowerCase()}[bot]`
        )
      let issues = repo.issues.filter(
        (i) =>
          (!labels ||
            labels.some((l) => i.labels.some((x) => x.toLowerCase() === l.toLowerCase()))) &&
          (!states || states.includes(i.state)) &&
          (!createdBy ||
            (!noApp && viewerLogin(ctx.store, i.author).toLowerCase() === createdBy)) &&
          Date.parse(i.updatedAt) >= since
      )
      const order = args.orderBy ?? { field: 'CREATED_AT', direction: 'ASC' }
      const key = ISSUE_ORDER[order.field] ?? ISSUE_ORDER.CREATED_AT
      issues = [...issues].sort((a, b) => {
        const cmp = (key?.(a) ?? '').localeCompare(key?.(b) ?? '') || a.number - b.number
        return order.direction === 'DESC' ? -cmp : cmp
      })
      return connection(
        issues.map((i) => issueView(ctx, repo, i)),
        args
      )
    }
  }
}

/** Nodes by id, for `node(id:)` / `nodes(ids:)`. */
function nodeView(ctx: GraphQLContext, id: string): Record<string, unknown> | null {
  const found = ctx.store.findNode(id)
  if (!found || !ctx.store.canSee(ctx.viewer, `${found.repo.owner}/${found.repo.name}`)) return null
  switch (found.kind) {
    case 'issue':
      return issueView(ctx, found.repo, found.issue)
    case 'comment':
      return commentView(ctx, found.repo, found.issue, found.comment)
    case 'label':
      return { __typename: 'Label', ...found.label }
    case 'pull':
      return pullView(ctx, found.repo, found.pull)
    case 'commit':
      return commitView(ctx.store, found.repo, found.commit)
  }
}

function mustIssue(ctx: GraphQLContext, id: string) {
  const found = ctx.store.findNode(id)
  if (!found || found.kind !== 'issue') {
    throw new Error(`Could not resolve to a node with the global id of '${id}'`)
  }
  return found
}

function root(ctx: GraphQLContext): Record<string, unknown> {
  const { store } = ctx
  const applied = <T>(value: T): T => {
    ctx.onMutationApplied?.()
    return value
  }
  return {
    viewer: () => ({
      ...actor(store, ctx.viewer),
      __typename: 'User',
      login: viewerLogin(store, ctx.viewer)
    }),
    // What GitHub answers: this query's cost (already charged) and the budget after it.
    rateLimit: () => {
      const budget = ctx.budget
      return {
        cost: ctx.cost ?? 1,
        limit: budget?.limit ?? 5000,
        remaining: budget?.remaining ?? 5000,
        used: budget?.used ?? 0,
        resetAt: new Date(budget?.resetAt ?? Date.parse(store.now()) + 3600_000).toISOString(),
        nodeCount: ctx.nodes ?? 0
      }
    },
    repository: ({ owner, name }: { owner: string; name: string }) => {
      const repo = store.repos.get(`${owner}/${name}`.toLowerCase())
      if (!repo || !store.canSee(ctx.viewer, `${owner}/${name}`))
        throw new Error(`Could not resolve to a Repository with the name '${owner}/${name}'.`)
      return repoView(ctx, repo)
    },
    node: ({ id }: { id: string }) => nodeView(ctx, id),
    nodes: ({ ids }: { ids: string[] }) => ids.map((id) => nodeView(ctx, id)),

    // ----------------------------------------------------------- mutations ---
    addComment: ({ input }: { input: { subjectId: string; body: string } }) => {
      const { repo, issue } = mustIssue(ctx, input.subjectId)
      const comment = store.addComment(issue, ctx.viewer, input.body)
      const node = commentView(ctx, repo, issue, comment)
      return applied({
        clientMutationId: null,
        commentEdge: { node, cursor: cursor(0) },
        subject: issueView(ctx, repo, issue),
        timelineEdge: null
      })
    },
    createIssue: ({
      input
    }: {
      input: { repositoryId: string; title: string; body?: string; labelIds?: string[] | null }
    }) => {
      const repo = [...store.repos.values()].find((r) => r.id === input.repositoryId)
      if (!repo)
        throw new Error(`Could not resolve to a node with the global id of '${input.repositoryId}'`)
      const labels = (input.labelIds ?? []).map((labelId) => {
        const label = repo.labels.find((l) => l.id === labelId)
        if (!label)
          throw new Error(`Could not resolve to a node with the global id of '${labelId}'`)
        return label
      })
      const issue = store.addIssue(`${repo.owner}/${repo.name}`, {
        title: input.title,
        body: input.body ?? '',
        author: ctx.viewer,
        authorAssociation: 'NONE'
      })
      for (const label of labels) store.addLabel(repo, issue, label.name, ctx.viewer)
      return applied({ clientMutationId: null, issue: issueView(ctx, repo, issue) })
    },
    updateIssue: ({
      input
    }: {
      input: { id: string; body?: string; state?: 'OPEN' | 'CLOSED' | null }
    }) => {
      const { repo, issue } = mustIssue(ctx, input.id)
      const permission = store.permissionOf(`${repo.owner}/${repo.name}`, ctx.viewer)
      if (issue.author !== ctx.viewer && !['admin', 'maintain', 'write'].includes(permission))
        throw new Error('Resource not accessible by integration')
      if (input.body !== undefined) store.editIssueBody(issue, ctx.viewer, input.body)
      if (input.state === 'CLOSED') store.closeIssue(issue, ctx.viewer)
      if (input.state === 'OPEN' && issue.state === 'CLOSED') {
        const at = store.now()
        issue.state = 'OPEN'
        issue.closedAt = null
        issue.updatedAt = at
        issue.events.push({
          type: 'ReopenedEvent',
          id: nodeId('ReopenedEvent', String(store.nextId())),
          actor: ctx.viewer,
          createdAt: at
        })
      }
      return applied({ clientMutationId: null, issue: issueView(ctx, repo, issue) })
    },
    updateIssueComment: ({ input }: { input: { id: string; body: string } }) => {
      const found = store.findNode(input.id)
      if (!found || found.kind !== 'comment')
        throw new Error(`Could not resolve to a node with the global id of '${input.id}'`)
      if (found.comment.author !== ctx.viewer)
        throw new Error('Resource not accessible by integration')
      store.editComment(found.issue, found.comment, ctx.viewer, input.body)
      return applied({
        clientMutationId: null,
        issueComment: commentView(ctx, found.repo, found.issue, found.comment)
      })
    },
    addLabelsToLabelable: ({ input }: { input: { labelableId: string; labelIds: string[] } }) => {
      const { repo, issue } = mustIssue(ctx, input.labelableId)
      for (const labelId of input.labelIds) {
        const label = repo.labels.find((l) => l.id === labelId)
        if (!label)
          throw new Error(`Could not resolve to a node with the global id of '${labelId}'`)
        store.addLabel(repo, issue, label.name, ctx.viewer)
      }
      return applied({ clientMutationId: null, labelable: issueView(ctx, repo, issue) })
    },
    removeLabelsFromLabelable: ({
      input
    }: {
      input: { labelableId: string; labelIds: string[] }
    }) => {
      const { repo, issue } = mustIssue(ctx, input.labelableId)
      for (const labelId of input.labelIds) {
        const label = repo.labels.find((l) => l.id === labelId)
        if (!label)
          throw new Error(`Could not resolve to a node with the global id of '${labelId}'`)
        store.removeLabel(issue, label.name, ctx.viewer)
      }
      return applied({ clientMutationId: null, labelable: issueView(ctx, repo, issue) })
    },
    closeIssue: ({ input }: { input: { issueId: string } }) => {
      const { repo, issue } = mustIssue(ctx, input.issueId)
      store.closeIssue(issue, ctx.viewer)
      return applied({ clientMutationId: null, issue: issueView(ctx, repo, issue) })
    }
  }
}

export interface GraphQLResult {
  data?: unknown
  errors?: { message: string; type?: string; path?: readonly (string | number)[] }[]
  /** Whether the document was a mutation (a write). */
  mutation: boolean
  /** Points charged (0 when refused before running). */
  cost: number
  /** The budget was spent: answer as GitHub does (200, RATE_LIMITED, remaining 0). */
  rateLimited?: boolean
}

/** Execute one GraphQL request against GitHub's schema. */
export async function executeGraphQL(
  ctx: GraphQLContext,
  request: { query: string; variables?: Args; operationName?: string }
): Promise<GraphQLResult> {
  let document: DocumentNode
  try {
    document = parse(request.query)
  } catch (error) {
    return { errors: [{ message: String(error) }], mutation: false, cost: 0 }
  }
  const mutation = document.definitions.some(
    (d) => d.kind === 'OperationDefinition' && d.operation === 'mutation'
  )
  const schema = githubSchema()
  const errors = validate(schema, document)
  if (errors.length > 0) {
    return { errors: errors.map((e) => ({ message: e.message })), mutation, cost: 0 }
  }
  let priced: QueryCost
  try {
    priced = queryCost(schema, document, request.variables ?? {}, request.operationName)
  } catch (error) {
    return { errors: [{ message: (error as Error).message }], mutation, cost: 0 }
  }
  if (priced.nodes > NODE_LIMIT) {
    return {
      errors: [
        {
          type: 'MAX_NODE_LIMIT_EXCEEDED',
          message: `This query requests up to ${priced.nodes.toLocaleString('en-US')} possible nodes which exceeds the maximum limit of ${NODE_LIMIT.toLocaleString('en-US')}.`
        }
      ],
      mutation,
      cost: 0
    }
  }
  if (ctx.budget && !ctx.budget.charge(priced.cost)) {
    return {
      errors: [
        {
          type: ctx.rateLimitedType ?? 'RATE_LIMITED',
          message: `API rate limit exceeded for user ID ${ctx.viewer}.`
        }
      ],
      mutation,
      cost: 0,
      rateLimited: true
    }
  }
  ctx.cost = priced.cost
  ctx.nodes = priced.nodes
  const result = await execute({
    schema,
    document,
    rootValue: root(ctx),
    contextValue: ctx,
    variableValues: request.variables ?? {},
    operationName: request.operationName
  })
  return {
    ...(result.data !== undefined ? { data: result.data } : {}),
    ...(result.errors
      ? {
          errors: result.errors.map((e) => ({
            message: e.message,
            ...(e.path ? { path: e.path } : {})
          }))
        }
      : {}),
    mutation,
    cost: priced.cost
  }
}
