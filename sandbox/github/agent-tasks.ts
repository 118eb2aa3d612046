/**
 * The loopback GitHub's agent tasks API (Copilot cloud agent, public
 * preview): the three repository routes of GitHub's OpenAPI description
 * (`@octokit/openapi` 23.0.2) with its documented payloads — see
 * docs/reference/copilot-agent-tasks.md. Wired into server.ts for paths under
 * `/agents/`; the route itself is matched against the OpenAPI there.
 *
 * As strict as the documentation makes it:
 * - a GitHub without the API (`offered: false`, e.g. Enterprise Server)
 *   answers 404 on every route;
 * - installation tokens (the store's bot tokens, like GITHUB_TOKEN) are
 *   refused with 403: "GitHub App installation access tokens are not
 *   supported" (the status is the documented "Insufficient permissions");
 * - a user token needs "Agent tasks" read to list or get, write to start;
 * - a start without a string `prompt`, or with fields of the wrong type, is
 *   refused with 422 `Validation Failed` and the documented error codes.
 * Tasks are scripted by the test through {@link AgentTasks.tasks} and the
 * `onTaskCreated` hook.
 */
import type { GitHubStore } from './store.js'

export type TaskState =
  | 'queued'
  | 'in_progress'
  | 'completed'
  | 'failed'
  | 'idle'
  | 'waiting_for_user'
  | 'timed_out'
  | 'cancelled'

export interface SandboxSession {
  id: string
  state: string
  prompt: string
  base_ref: string
  head_ref: string
  model: string | null
  created_at: string
}

export interface SandboxTask {
  id: string
  repo: string
  /** A string so tests can give it a state GitHub has never sent. */
  state: string
  name: string
  creatorLogin: string
  createdAt: string
  updatedAt: string
  sessions: SandboxSession[]
  /** Pull request numbers the task produced (artifacts of type `pull`). */
  pulls: number[]
  headRef: string
  baseRef: string
  createPullRequest: boolean
}

export interface AgentTasksOptions {
  /** Whether this GitHub has the API at all (default true). */
  offered?: boolean
  /** "Agent tasks" permission per token; a user token not listed has write. */
  access?: Record<string, 'none' | 'read' | 'write'>
  /** Called when a task is started (scripted agents hook in here). */
  onTaskCreated?: (task: SandboxTask) => void
}

const DOCS = 'https://docs.github.com/rest/agent-tasks/agent-tasks'

const error = (status: number, message: string, errors?: { code: string; message?: string }[]) => ({
  status,
  body: { message, documentation_url: DOCS, ...(errors ? { errors } : {}) }
})

export class AgentTasks {
  readonly tasks: SandboxTask[] = []
  private seq = 0
  constructor(
    private readonly store: GitHubStore,
    readonly options: AgentTasksOptions = {}
  ) {}

  /** How many tasks were started. */
  get created(): number {
    return this.tasks.length
  }

  task(id: string): SandboxTask | undefined {
    return this.tasks.find((t) => t.id === id)
  }

  /** Move a task to a state (the scripted agent's doing). */
  setState(id: string, state: string): void {
    const task = this.task(id)
    if (!task) return
    task.state = state
    task.updatedAt = this.store.now()
    const last = task.sessions.at(-1)
    if (last) last.state = state
  }

  private json(task: SandboxTask, withSessions: boolean): Record<string, unknown> {
    const repo = this.store.repos.get(task.repo.toLowerCase())
    const base = `https://github.com/${task.repo}`
    return {
      id: task.id,
      url: `https://api.github.com/agents/repos/${task.repo}/tasks/${task.id}`,
      html_url: `${base}/copilot/tasks/${task.id}`,
      name: task.name,
      creator: { id: loginId(task.creatorLogin) },
      creator_type: 'user',
      owner: { id: loginId(task.repo.split('/')[0] ?? '') },
      repository: { id: repo?.databaseId ?? 0 },
      state: task.state,
      session_count: task.sessions.length,
      artifacts: [
        {
          provider: 'github',
          type: 'branch',
          data: { head_ref: task.headRef, base_ref: task.baseRef }
        },
        ...task.pulls.map((n) => ({ provider: 'github', type: 'pull', data: { id: n } }))
      ],
      archived_at: null,
      updated_at: task.updatedAt,
      created_at: task.createdAt,
      ...(withSessions
        ? {
            sessions: task.sessions.map((s) => ({
              id: s.id,
              name: task.name,
              task_id: task.id,
              state: s.state,
              created_at: s.created_at,
              updated_at: task.updatedAt,
              prompt: s.prompt,
              head_ref: s.head_ref,
              base_ref: s.base_ref,
              ...(s.model ? { model: s.model } : {})
            }))
          }
        : {})
    }
  }

  /** Answer one request on an `/agents/repos/…` route. */
  reply(req: {
    method: string
    template: string
    params: Record<string, string>
    query: URLSearchParams
    body: Record<string, unknown>
    token: string
    login: string
  }): { status: number; body?: unknown } {
    if (this.options.offered === false) return error(404, 'Not Found')
    if (this.store.bots.has(req.login))
      return error(
        403,
        'GitHub App installation access tokens are not supported for this endpoint.'
      )
    const fullName = `${req.params.owner}/${req.params.repo}`
    const repo = this.store.repos.get(fullName.toLowerCase())
    if (!repo) return error(404, 'Not Found')
    const repoName = `${repo.owner}/${repo.name}`
    const access = this.options.access?.[req.token] ?? 'write'
    const write = req.method === 'POST'
    if (access === 'none' || (write && access !== 'write'))
      return error(403, 'Resource not accessible by personal access token')

    const route = `${req.method} ${req.template}`
    if (route === 'GET /agents/repos/{owner}/{repo}/tasks') {
      const perPage = Number(req.query.get('per_page') ?? 30)
      const page = Number(req.query.get('page') ?? 1)
      const sort = req.query.get('sort') ?? 'updated_at'
      const direction = req.query.get('direction') ?? 'desc'
      if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100)
        return error(422, 'Validation Failed', [{ code: 'invalid', message: 'per_page' }])
      if (!Number.isInteger(page) || page < 1)
        return error(422, 'Validation Failed', [{ code: 'invalid', message: 'page' }])
      if (!['updated_at', 'created_at'].includes(sort) || !['asc', 'desc'].includes(direction))
        return error(422, 'Validation Failed', [{ code: 'invalid' }])
      const field = sort === 'created_at' ? 'createdAt' : 'updatedAt'
      const mine = this.tasks
        .filter((t) => t.repo === repoName)
        .map((t, i) => ({ t, i }))
        .sort((a, b) => a.t[field].localeCompare(b.t[field]) || a.i - b.i)
        .map(({ t }) => t)
      if (direction === 'desc') mine.reverse()
      const slice = mine.slice((page - 1) * perPage, page * perPage)
      return {
        status: 200,
        body: {
          tasks: slice.map((t) => this.json(t, false)),
          total_active_count: mine.length,
          total_archived_count: 0
        }
      }
    }
    if (route === 'GET /agents/repos/{owner}/{repo}/tasks/{task_id}') {
      const task = this.task(req.params.task_id ?? '')
      if (!task || task.repo !== repoName) return error(404, 'Not Found')
      return { status: 200, body: this.json(task, true) }
    }
    if (route === 'POST /agents/repos/{owner}/{repo}/tasks') {
      const b = req.body
      if (b.prompt === undefined)
        return error(422, 'Validation Failed', [{ code: 'missing_field', message: 'prompt' }])
      const strings = ['prompt', 'model', 'custom_agent', 'base_ref', 'head_ref'] as const
      for (const field of strings) {
        if (b[field] !== undefined && typeof b[field] !== 'string')
          return error(422, 'Validation Failed', [{ code: 'invalid', message: field }])
      }
      if (b.create_pull_request !== undefined && typeof b.create_pull_request !== 'boolean')
        return error(422, 'Validation Failed', [
          { code: 'invalid', message: 'create_pull_request' }
        ])
      const prompt = String(b.prompt)
      if (prompt.trim() === '')
        return error(422, 'Validation Failed', [{ code: 'invalid', message: 'prompt' }])
      const baseRef = typeof b.base_ref === 'string' ? b.base_ref : repo.defaultBranch
      const now = this.store.now()
      // A UUID, as in GitHub's documented example.
      const id = `a1b2c3d4-e5f6-7890-abcd-${(++this.seq).toString(16).padStart(12, '0')}`
      const task: SandboxTask = {
        id,
        repo: repoName,
        state: 'queued',
        name: prompt.split('\n')[0]?.slice(0, 80) ?? '',
        creatorLogin: req.login,
        createdAt: now,
        updatedAt: now,
        sessions: [
          {
            id: `${id}-s1`,
            state: 'queued',
            prompt,
            base_ref: baseRef,
            head_ref: typeof b.head_ref === 'string' ? b.head_ref : `copilot/${id}`,
            model: typeof b.model === 'string' ? b.model : null,
            created_at: now
          }
        ],
        pulls: [],
        headRef: typeof b.head_ref === 'string' ? b.head_ref : `copilot/${id}`,
        baseRef,
        createPullRequest: b.create_pull_request === true
      }
      this.tasks.push(task)
      this.options.onTaskCreated?.(task)
      return { status: 201, body: this.json(task, false) }
    }
    return error(404, 'Not Found')
  }
}

/** A stable numeric id for a login (the sandbox has no user table). */
function loginId(login: string): number {
  let h = 7
  for (const c of login) h = (h * 31 + c.charCodeAt(0)) >>> 0
  return h
}
