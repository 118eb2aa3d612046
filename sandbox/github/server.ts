/**
 * A loopback GitHub: an HTTP server on 127.0.0.1 (random port) that serves
 * GraphQL executed against GitHub's real schema and the REST routes the
 * action uses, over a {@link GitHubStore}.
 *
 * Strict where mocks forgive:
 * - every REST request is matched against GitHub's OpenAPI description
 *   (`@octokit/openapi`): a route GitHub doesn't have, or the wrong method,
 *   is answered 404 and recorded in `violations` for the test to fail on;
 * - a GraphQL document GitHub would reject is rejected the same way.
 *
 * For tests it counts every request by kind, injects faults (status codes per
 * route, 403 secondary limits with `retry-after`, 429, random 5xx at a rate,
 * latency), and can kill the action right after the k-th write was applied:
 * the effect lands, the response never arrives.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFileSync } from 'node:fs'
import { packageFile } from '../package-file.js'
import { PointBudget } from './cost.js'
import { executeGraphQL, githubSchema } from './graphql.js'
import {
  allows,
  refusedMutations,
  refusedRead,
  restPermission,
  restRefusal,
  type TokenPermissions
} from './permissions.js'
import type { AgentTasks } from './agent-tasks.js'
import { nodeId, type GitHubStore, type SandboxRepo, type SandboxWorkflowRun } from './store.js'

export type RequestKind = 'graphql-read' | 'graphql-write' | 'rest-read' | 'rest-write'

export interface Fault {
  /** Which requests: by kind, method and a pattern on the path (all optional). */
  kind?: RequestKind
  method?: string
  path?: RegExp
  /** `primary-limit`: 403 with x-ratelimit-remaining 0 (the primary rate limit is spent). */
  status: 500 | 502 | 503 | 403 | 429 | 401 | 404 | 'primary-limit'
  /** How many matching requests fail (default: all). */
  times?: number
  /** For 403/429: the `retry-after` header in seconds. */
  retryAfter?: number
}

export interface SandboxOptions {
  store: GitHubStore
  /** Milliseconds added to every response. */
  latencyMs?: number
  /** Listen on this port (default: any free port). */
  port?: number
  faults?: Fault[]
  /** Fail this fraction of requests at random with 5xx/429/secondary-limit responses. */
  randomFaults?: { rate: number; seed: number }
  /** After the k-th applied write, call `kill` and never answer. */
  killAfterWrites?: { k: number; kill: () => void }
  /**
   * Answer like a GitHub Enterprise Server that predates `return_run_details`
   * (3.19 and older): a dispatch carrying the key is refused with 422.
   */
  refuseRunDetails?: boolean
  /**
   * Files in repositories, by `owner/name/path` (the same on every branch):
   * what `GET /repos/{owner}/{repo}/contents/{path}` serves (e.g. a workflow).
   */
  files?: Record<string, string>
  /** Repositories that are private (GitHub's `private`); the others are public. */
  privateRepos?: string[]
  /** Repository permissions per token (a token not listed may do everything); see permissions.ts. */
  tokenPermissions?: Record<string, TokenPermissions>
  /** The agent tasks API (Copilot cloud agent); without it, `/agents/…` answers 404. */
  agentTasks?: AgentTasks
  /** Called when a workflow is dispatched (scripted agents hook in here). */
  onWorkflowDispatch?: (repo: SandboxRepo, run: SandboxWorkflowRun) => void
  /**
   * GraphQL points per hour per token (login → points; `*` for every other
   * token). Default 1,000: what GITHUB_TOKEN gets per repository.
   */
  pointsPerHour?: Record<string, number>
  /** The error type a spent budget answers with (default GitHub's documented `RATE_LIMITED`). */
  rateLimitedType?: 'RATE_LIMITED' | 'RATE_LIMIT'
  /** Answer like GitHub Enterprise Cloud: `filterBy.createdBy` matches no GitHub App (see graphql.ts). */
  createdByMatchesNoApp?: boolean
}

/** GITHUB_TOKEN's GraphQL budget: 1,000 points an hour per repository. */
export const DEFAULT_POINTS_PER_HOUR = 1000

export interface SandboxCounts {
  'graphql-read': number
  'graphql-write': number
  'rest-read': number
  'rest-write': number
  faults: number
  /** GraphQL points charged (sum of every query's cost, GitHub's formula). */
  points: number
}

export interface GitHubSandbox {
  url: string
  graphqlUrl: string
  counts: SandboxCounts
  /** Requests GitHub would not have accepted (unknown routes, wrong methods). */
  violations: string[]
  /** Every request, in order: `KIND METHOD PATH`. */
  log: string[]
  /** Applied writes so far (each GraphQL mutation document or REST write). */
  writes: number
  options: SandboxOptions
  /** A token's point budget (created on first use). */
  budget(login: string): PointBudget
  resetCounts(): void
  close(): Promise<void>
}

interface Route {
  method: string
  template: string
  pattern: RegExp
}

let cachedRoutes: Route[] | null = null

/** Every REST route in GitHub's OpenAPI description, as matchers. */
export function openApiRoutes(): Route[] {
  if (cachedRoutes) return cachedRoutes
  const path = packageFile('@octokit/openapi', 'generated/api.github.com.json')
  const spec = JSON.parse(readFileSync(path, 'utf8')) as {
    paths: Record<string, Record<string, unknown>>
  }
  const routes: Route[] = []
  for (const [template, methods] of Object.entries(spec.paths)) {
    const pattern = new RegExp(
      '^' + template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+') + '$'
    )
    for (const method of Object.keys(methods)) {
      if (['get', 'post', 'put', 'patch', 'delete'].includes(method)) {
        routes.push({ method: method.toUpperCase(), template, pattern })
      }
    }
  }
  cachedRoutes = routes
  return routes
}

/** The OpenAPI template a request matches, or why it matches none. */
export function matchRoute(method: string, path: string): { template: string } | { error: string } {
  const routes = openApiRoutes().filter((r) => r.pattern.test(path))
  if (routes.length === 0) return { error: `no such route: ${method} ${path}` }
  // Prefer the most literal template (fewest parameters) among those with this method.
  const withMethod = routes
    .filter((r) => r.method === method)
    .sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0))
  const first = withMethod[0]
  if (!first)
    return {
      error: `wrong method: ${method} ${path} (GitHub has ${routes.map((r) => r.method).join(', ')})`
    }
  return { template: first.template }
}

/** A small deterministic PRNG (mulberry32) for reproducible random faults. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function send(
  res: ServerResponse,
  status: number,
  payload: unknown,
  headers: Record<string, string> = {}
): void {
  const text = payload === undefined ? '' : JSON.stringify(payload)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'x-ratelimit-limit': '5000',
    'x-ratelimit-remaining': '4999',
    'x-ratelimit-used': '1',
    'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
    'x-ratelimit-resource': 'core',
    ...headers
  })
  res.end(text)
}

/** Start a loopback GitHub. */
export async function startGitHubSandbox(options: SandboxOptions): Promise<GitHubSandbox> {
  githubSchema() // build once up front, not inside the first request's timeout
  openApiRoutes()
  const { store } = options
  const counts: SandboxCounts = {
    'graphql-read': 0,
    'graphql-write': 0,
    'rest-read': 0,
    'rest-write': 0,
    faults: 0,
    points: 0
  }
  const budgets = new Map<string, PointBudget>()
  const budgetOf = (login: string): PointBudget => {
    let budget = budgets.get(login)
    if (!budget) {
      const limits = options.pointsPerHour ?? {}
      budget = new PointBudget(limits[login] ?? limits['*'] ?? DEFAULT_POINTS_PER_HOUR, () =>
        Date.parse(store.now())
      )
      budgets.set(login, budget)
    }
    return budget
  }
  const violations: string[] = []
  const log: string[] = []
  const faultsLeft = new Map<Fault, number>()
  const rand = options.randomFaults ? random(options.randomFaults.seed) : null
  let killed = false

  const sandbox: GitHubSandbox = {
    url: '',
    graphqlUrl: '',
    counts,
    violations,
    log,
    writes: 0,
    options,
    budget: budgetOf,
    resetCounts() {
      for (const k of Object.keys(counts) as (keyof SandboxCounts)[]) counts[k] = 0
      log.length = 0
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }

  /** Count a write; when it is the k-th, kill the client and never answer. */
  const afterWrite = (res: ServerResponse): boolean => {
    sandbox.writes++
    const kill = options.killAfterWrites
    if (kill && sandbox.writes === kill.k && !killed) {
      killed = true
      kill.kill()
      res.socket?.destroy()
      return true
    }
    return false
  }

  const injectFault = (
    res: ServerResponse,
    kind: RequestKind,
    method: string,
    path: string
  ): boolean => {
    for (const fault of options.faults ?? []) {
      if (fault.kind && fault.kind !== kind) continue
      if (fault.method && fault.method !== method) continue
      if (fault.path && !fault.path.test(path)) continue
      const left = faultsLeft.get(fault) ?? fault.times ?? Infinity
      if (left <= 0) continue
      faultsLeft.set(fault, left - 1)
      respondFault(res, fault.status, fault.retryAfter)
      return true
    }
    if (rand && rand() < (options.randomFaults?.rate ?? 0)) {
      const statuses = [500, 502, 503, 429, 403] as const
      respondFault(res, statuses[Math.floor(rand() * statuses.length)] ?? 500, 1)
      return true
    }
    return false
  }

  const respondFault = (res: ServerResponse, status: Fault['status'], retryAfter = 1): void => {
    counts.faults++
    if (status === 'primary-limit') {
      send(
        res,
        403,
        {
          message: 'API rate limit exceeded for installation.',
          documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api'
        },
        {
          'x-ratelimit-remaining': '0',
          'x-ratelimit-used': '5000',
          'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 1800)
        }
      )
    } else if (status === 403) {
      send(
        res,
        403,
        {
          message:
            'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
          documentation_url:
            'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits'
        },
        { 'retry-after': String(retryAfter) }
      )
    } else if (status === 429) {
      send(res, 429, { message: 'Too many requests' }, { 'retry-after': String(retryAfter) })
    } else {
      send(res, status, { message: `sandbox fault ${status}` })
    }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET'
    const url = new URL(req.url ?? '/', 'http://sandbox')
    const path = url.pathname.replace(/^\/api\/v3/, '')
    const text = await body(req)
    if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs))

    const token = /^(?:bearer|token)\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]
    const login = token ? store.tokens.get(token) : undefined

    if (path === '/graphql' || path === '/api/graphql') {
      let request: { query: string; variables?: Record<string, unknown> }
      try {
        request = JSON.parse(text) as typeof request
      } catch {
        send(res, 400, { message: 'Problems parsing JSON' })
        return
      }
      const mutation = /^\s*mutation\b/.test(request.query)
      const kind: RequestKind = mutation ? 'graphql-write' : 'graphql-read'
      counts[kind]++
      log.push(`${kind} POST ${path}`)
      if (!login) return send(res, 401, { message: 'Bad credentials' })
      if (injectFault(res, kind, method, path)) return
      const granted = options.tokenPermissions?.[token ?? '']
      const refused = mutation ? refusedMutations(request.query, granted) : null
      if (refused) {
        const data = Object.fromEntries(refused.aliases.map((a) => [a, null]))
        return send(res, 200, { data, errors: refused.errors }, budgetOf(login).headers())
      }
      const unreadable = mutation ? null : refusedRead(request.query, granted)
      if (unreadable) return send(res, 200, unreadable, budgetOf(login).headers())
      const budget = budgetOf(login)
      const result = await executeGraphQL(
        {
          store,
          viewer: login,
          budget,
          ...(options.rateLimitedType ? { rateLimitedType: options.rateLimitedType } : {}),
          ...(options.createdByMatchesNoApp ? { createdByMatchesNoApp: true } : {})
        },
        request
      )
      const { mutation: _m, cost, rateLimited, ...payload } = result
      counts.points += cost
      if (result.errors && result.data === undefined && !mutation && !rateLimited) {
        // GitHub answers invalid documents with 200 and errors; so do we.
        violations.push(`graphql rejected: ${result.errors.map((e) => e.message).join('; ')}`)
      }
      // A spent budget is HTTP 200 with a RATE_LIMITED error and x-ratelimit-remaining 0.
      if (mutation && !rateLimited && afterWrite(res)) return
      return send(res, 200, payload, budget.headers())
    }

    const write = method !== 'GET' && method !== 'HEAD'
    const kind: RequestKind = write ? 'rest-write' : 'rest-read'
    counts[kind]++
    log.push(`${kind} ${method} ${path}`)
    // Where GitHub's redirects point (`/repositories/{id}/…`, as its 301s for
    // moved repositories name them): not in the OpenAPI description, served
    // for the one thing the loop follows there, an issue.
    const moved = /^\/repositories\/(\d+)\/issues\/(\d+)$/.exec(path)
    if (moved && method === 'GET') {
      if (!login) return send(res, 401, { message: 'Bad credentials' })
      if (injectFault(res, kind, method, path)) return
      const repo = [...store.repos.values()].find((r) => String(r.databaseId) === moved[1])
      if (!repo || !store.canSee(login, `${repo.owner}/${repo.name}`))
        return send(res, 404, notFound.body)
      const reply = issueReply(store, login, repo, Number(moved[2]), origin(req))
      return send(res, reply.status, reply.body, reply.headers)
    }
    const match = matchRoute(method, path)
    if ('error' in match) {
      violations.push(match.error)
      return send(res, 404, {
        message: 'Not Found',
        documentation_url: 'https://docs.github.com/rest'
      })
    }
    if (!login) return send(res, 401, { message: 'Bad credentials' })
    if (injectFault(res, kind, method, path)) return
    const needed = restPermission(method, match.template)
    if (!allows(options.tokenPermissions?.[token ?? ''], needed) && needed) {
      const refusal = restRefusal(needed)
      return send(res, refusal.status, refusal.body, refusal.headers)
    }
    if (match.template.startsWith('/agents/')) {
      let parsed: Record<string, unknown>
      try {
        parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {}
      } catch {
        return send(res, 400, { message: 'Problems parsing JSON' })
      }
      const reply = options.agentTasks?.reply({
        method,
        template: match.template,
        params: paramsOf(match.template, path),
        query: url.searchParams,
        body: parsed,
        token: token ?? '',
        login
      }) ?? { status: 404, body: { message: 'Not Found' } }
      if (write && reply.status < 300 && afterWrite(res)) return
      return send(res, reply.status, reply.body)
    }
    const handler = REST[`${method} ${match.template}`]
    if (!handler) {
      violations.push(`not emulated: ${method} ${match.template}`)
      return send(res, 501, { message: `sandbox does not emulate ${method} ${match.template}` })
    }
    const params = paramsOf(match.template, path)
    let parsed: Record<string, unknown> = {}
    if (text) {
      try {
        parsed = JSON.parse(text) as Record<string, unknown>
      } catch {
        return send(res, 400, { message: 'Problems parsing JSON' })
      }
    }
    const reply = handler({
      store,
      login,
      params,
      query: url.searchParams,
      body: parsed,
      options,
      origin: origin(req)
    })
    if (write && reply.status < 300 && afterWrite(res)) return
    return send(res, reply.status, reply.body, reply.headers)
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      violations.push(`sandbox error: ${String(error)}`)
      if (!res.headersSent) send(res, 500, { message: String(error) })
    })
  })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  sandbox.url = `http://127.0.0.1:${port}`
  sandbox.graphqlUrl = `http://127.0.0.1:${port}/graphql`
  return sandbox
}

/** When something was last pushed to the repository: its newest commit. */
function lastPush(repo: SandboxRepo): string | null {
  let latest: string | null = null
  for (const commit of repo.commits.values()) {
    if (latest === null || commit.committedDate > latest) latest = commit.committedDate
  }
  return latest
}

function paramsOf(template: string, path: string): Record<string, string> {
  const names = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? '')
  const pattern = new RegExp(
    '^' + template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '([^/]+)') + '$'
  )
  const values = pattern.exec(path)?.slice(1) ?? []
  return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(values[i] ?? '')]))
}

interface RestRequest {
  store: GitHubStore
  login: string
  params: Record<string, string>
  query: URLSearchParams
  body: Record<string, unknown>
  options: SandboxOptions
  /** `http://127.0.0.1:port`: what absolute URLs in answers start with. */
  origin: string
}

type RestReply = { status: number; body?: unknown; headers?: Record<string, string> }
type RestHandler = (req: RestRequest) => RestReply

/** The repository a route names, if it exists and the token may see it (else GitHub's 404). */
const repoOf = (req: RestRequest): SandboxRepo | null => {
  const repo = req.store.repos.get(`${req.params.owner}/${req.params.repo}`.toLowerCase())
  return repo && req.store.canSee(req.login, `${repo.owner}/${repo.name}`) ? repo : null
}

const notFound = { status: 404, body: { message: 'Not Found' } }

function origin(req: IncomingMessage): string {
  return `http://${req.headers.host ?? '127.0.0.1'}`
}

/**
 * `GET` of an issue by number, as GitHub answers it: the issue; for one
 * transferred away, 301 to its new home when the token can see it and 404
 * when it can't; 410 for a deleted one (GitHub's "Get an issue" docs).
 */
function issueReply(
  store: GitHubStore,
  login: string,
  repo: SandboxRepo,
  number: number,
  base: string
): RestReply {
  const issue = repo.issues.find((i) => i.number === number)
  const full = `${repo.owner}/${repo.name}`
  if (issue) {
    const api = `https://api.github.com/repos/${full}`
    return {
      status: 200,
      body: {
        id: issue.databaseId,
        node_id: issue.id,
        number: issue.number,
        title: issue.title,
        state: issue.state.toLowerCase(),
        labels: issue.labels.map((name) => ({ name })),
        url: `${api}/issues/${issue.number}`,
        repository_url: api,
        html_url: `https://github.com/${full}/issues/${issue.number}`,
        user: { login: issue.author },
        created_at: issue.createdAt,
        updated_at: issue.updatedAt,
        closed_at: issue.closedAt
      }
    }
  }
  const gone = repo.departed?.get(number)
  if (gone === 'deleted') {
    return {
      status: 410,
      body: {
        message: 'This issue was deleted',
        documentation_url: 'https://docs.github.com/rest/issues/issues#get-an-issue',
        status: '410'
      }
    }
  }
  const target = gone ? store.repos.get(gone.to) : undefined
  if (gone && target && store.canSee(login, gone.to)) {
    const location = `${base}/repositories/${target.databaseId}/issues/${gone.number}`
    return {
      status: 301,
      body: {
        message: 'Moved Permanently',
        url: location,
        documentation_url:
          'https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects'
      },
      headers: { location }
    }
  }
  return notFound
}

function runJson(repo: SandboxRepo, run: SandboxWorkflowRun): Record<string, unknown> {
  const base = `https://github.com/${repo.owner}/${repo.name}`
  return {
    id: run.id,
    name: run.name,
    display_title: run.displayTitle,
    status: run.status,
    conclusion: run.conclusion,
    head_branch: run.headBranch,
    event: 'workflow_dispatch',
    path: `.github/workflows/${run.workflowFile}`,
    html_url: `${base}/actions/runs/${run.id}`,
    url: `https://api.github.com/repos/${repo.owner}/${repo.name}/actions/runs/${run.id}`,
    created_at: run.createdAt,
    updated_at: run.updatedAt,
    run_attempt: 1
  }
}

const workflowOf = (repo: SandboxRepo, id: string): string | null =>
  repo.workflows.find((w) => w === id) ?? null

/** The REST routes the action uses, keyed by `METHOD template`. */
const REST: Readonly<Record<string, RestHandler>> = {
  'GET /rate_limit': () => ({
    status: 200,
    body: {
      resources: {
        core: { limit: 5000, remaining: 4999, used: 1, reset: Math.floor(Date.now() / 1000) + 3600 }
      },
      rate: { limit: 5000, remaining: 4999, used: 1, reset: Math.floor(Date.now() / 1000) + 3600 }
    }
  }),
  'GET /repos/{owner}/{repo}': (req) => {
    const repo = repoOf(req)
    return repo
      ? {
          status: 200,
          body: {
            id: repo.databaseId,
            node_id: repo.id,
            name: repo.name,
            full_name: `${repo.owner}/${repo.name}`,
            default_branch: repo.defaultBranch,
            private: (req.options.privateRepos ?? []).some(
              (r) => r.toLowerCase() === `${repo.owner}/${repo.name}`.toLowerCase()
            ),
            pushed_at: lastPush(repo)
          }
        }
      : notFound
  },
  'GET /repos/{owner}/{repo}/issues/{issue_number}': (req) => {
    const repo = repoOf(req)
    if (!repo) return notFound
    return issueReply(req.store, req.login, repo, Number(req.params.issue_number), req.origin)
  },
  'GET /repos/{owner}/{repo}/collaborators/{username}/permission': (req) => {
    const repo = repoOf(req)
    if (!repo) return notFound
    const login = req.params.username ?? ''
    const permission = req.store.permissionOf(`${repo.owner}/${repo.name}`, login)
    return {
      status: 200,
      body: {
        // GitHub's legacy `permission` folds maintain into write and triage into read.
        permission:
          permission === 'maintain' ? 'write' : permission === 'triage' ? 'read' : permission,
        role_name: permission,
        user: { login, type: req.store.bots.has(login) ? 'Bot' : 'User' }
      }
    }
  },
  'GET /repos/{owner}/{repo}/labels/{name}': (req) => {
    const repo = repoOf(req)
    const label = repo?.labels.find(
      (l) => l.name.toLowerCase() === (req.params.name ?? '').toLowerCase()
    )
    return label
      ? {
          status: 200,
          body: {
            id: 1,
            node_id: label.id,
            name: label.name,
            color: label.color,
            description: label.description
          }
        }
      : notFound
  },
  'POST /repos/{owner}/{repo}/labels': (req) => {
    const repo = repoOf(req)
    if (!repo) return notFound
    const name = String(req.body.name ?? '')
    if (!name) return { status: 422, body: { message: 'Validation Failed' } }
    if (repo.labels.some((l) => l.name.toLowerCase() === name.toLowerCase())) {
      return {
        status: 422,
        body: {
          message: 'Validation Failed',
          errors: [{ resource: 'Label', code: 'already_exists', field: 'name' }]
        }
      }
    }
    const label = req.store.ensureLabel(
      repo,
      name,
      String(req.body.color ?? 'ededed'),
      String(req.body.description ?? '')
    )
    return {
      status: 201,
      body: {
        id: 1,
        node_id: label.id,
        name: label.name,
        color: label.color,
        description: label.description
      }
    }
  },
  'POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches': (req) => {
    const repo = repoOf(req)
    if (!repo) return notFound
    const file = workflowOf(repo, req.params.workflow_id ?? '')
    if (!file) return notFound
    const ref = String(req.body.ref ?? '').replace(/^refs\/heads\//, '')
    if (!repo.branches.has(ref)) {
      return {
        status: 422,
        body: { message: `No ref found for: ${String(req.body.ref ?? '')}`, status: '422' }
      }
    }
    if (req.options.refuseRunDetails && 'return_run_details' in req.body) {
      return {
        status: 422,
        body: {
          message: 'Invalid request.\n\n"return_run_details" is not a permitted key.',
          documentation_url:
            'https://docs.github.com/enterprise-server@3.19/rest/actions/workflows#create-a-workflow-dispatch-event',
          status: '422'
        }
      }
    }
    const inputs = (req.body.inputs ?? {}) as Record<string, string>
    const at = req.store.now()
    const run: SandboxWorkflowRun = {
      id: req.store.nextId(),
      workflowFile: file,
      name: `afk ${inputs.run_key ?? ''}`.trim(),
      displayTitle: `afk ${inputs.run_key ?? ''}`.trim(),
      status: 'queued',
      conclusion: null,
      headBranch: String(req.body.ref ?? repo.defaultBranch),
      inputs,
      createdAt: at,
      updatedAt: at
    }
    repo.workflowRuns.push(run)
    req.options.onWorkflowDispatch?.(repo, run)
    if (req.body.return_run_details === true) {
      const json = runJson(repo, run)
      return {
        status: 200,
        body: { workflow_run_id: run.id, run_url: json.url, html_url: json.html_url }
      }
    }
    return { status: 204 }
  },
  'GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}': (req) => {
    const repo = repoOf(req)
    const file = repo ? workflowOf(repo, req.params.workflow_id ?? '') : null
    if (!repo || !file) return notFound
    return {
      status: 200,
      body: {
        id: 1000 + repo.workflows.indexOf(file),
        node_id: nodeId('Workflow', `${repo.owner}/${repo.name}/${file}`),
        name: file.replace(/\.ya?ml$/, ''),
        path: `.github/workflows/${file}`,
        state: 'active',
        html_url: `https://github.com/${repo.owner}/${repo.name}/blob/${repo.defaultBranch}/.github/workflows/${file}`
      }
    }
  },
  'GET /repos/{owner}/{repo}/contents/{path}': (req) => {
    const repo = repoOf(req)
    if (!repo) return notFound
    const ref = (req.query.get('ref') ?? repo.defaultBranch).replace(/^refs\/heads\//, '')
    const text = req.options.files?.[`${repo.owner}/${repo.name}/${req.params.path ?? ''}`]
    if (!repo.branches.has(ref) || text === undefined) return notFound
    return {
      status: 200,
      body: {
        type: 'file',
        encoding: 'base64',
        name: (req.params.path ?? '').split('/').pop(),
        path: req.params.path,
        size: Buffer.byteLength(text),
        content: Buffer.from(text).toString('base64')
      }
    }
  },
  'GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs': (req) => {
    const repo = repoOf(req)
    if (!repo) return notFound
    const file = workflowOf(repo, req.params.workflow_id ?? '')
    if (!file) return notFound
    const created = req.query.get('created')
    const since = created?.startsWith('>=') ? Date.parse(created.slice(2)) : -Infinity
    const perPage = Number(req.query.get('per_page') ?? 30)
    const runs = repo.workflowRuns
      .filter((r) => r.workflowFile === file && Date.parse(r.createdAt) >= since)
      .sort((a, b) => b.id - a.id)
    return {
      status: 200,
      body: {
        total_count: runs.length,
        workflow_runs: runs.slice(0, perPage).map((r) => runJson(repo, r))
      }
    }
  },
  'GET /repos/{owner}/{repo}/actions/runs/{run_id}': (req) => {
    const repo = repoOf(req)
    const run = repo?.workflowRuns.find((r) => String(r.id) === req.params.run_id)
    return repo && run ? { status: 200, body: runJson(repo, run) } : notFound
  },
  'POST /repos/{owner}/{repo}/actions/runs/{run_id}/cancel': (req) => {
    const repo = repoOf(req)
    const run = repo?.workflowRuns.find((r) => String(r.id) === req.params.run_id)
    if (!repo || !run) return notFound
    if (run.status === 'completed')
      return { status: 409, body: { message: 'Cannot cancel a workflow run that is completed.' } }
    run.status = 'completed'
    run.conclusion = 'cancelled'
    run.updatedAt = req.store.now()
    return { status: 202, body: {} }
  }
}
