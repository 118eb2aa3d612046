/**
 * The Copilot backend: GitHub's Copilot cloud agent, driven through the agent
 * tasks REST API (public preview; every fact used here is sourced in
 * docs/reference/copilot-agent-tasks.md). Nothing to host: a dispatch starts a
 * task in the repository; the task is the "thread", its id the thread
 * id and its `html_url` the agent link.
 *
 * - Dispatch: `POST /agents/repos/{owner}/{repo}/tasks` with the prompt,
 *   `create_pull_request: true` and `base_ref` (copilot-base-ref or the
 *   default branch). A fix-forward is a new task with `head_ref` set to the
 *   run's pull request branch: GitHub documents that the agent then commits to
 *   that branch and its open pull request instead of opening another.
 * - Exactly once: the prompt ends with the line `afk-loop-run-key: <key>`. The
 *   repository's task list does not carry prompts, but a task's sessions do,
 *   so `find(key)` reads the newest {@link FIND_WINDOW} tasks one by one
 *   (remembering what it read) before any start.
 * - Status: {@link copilotTaskStatus}, a table; anything else is unknown and
 *   the loop waits.
 * - Interrupt: GitHub documents no way to stop or cancel a task through the
 *   API, so `interrupt` sends nothing: the loop only stops tracking it
 *   (docs/backends.md says so).
 * - Token: `copilot-token`, a user-to-server token (fine-grained PAT or GitHub
 *   App user token with "Agent tasks" read and write); the API refuses
 *   installation tokens. Repository and pull request reads use the loop's own
 *   clients.
 */
import { z } from 'zod'
import type { RepoRef } from '../config.js'
import { runBranch } from '../core/prompts.js'
import type { ThreadStatus } from '../core/types.js'
import type { AgentCheck } from '../core/check.js'
import type { GitHubClients } from '../github/client.js'
import {
  AgentUnavailableError,
  PermanentDispatchError,
  type AgentPort,
  type AgentSnapshot,
  type DispatchRequest,
  type DispatchedThread,
  type ThreadQuery
} from '../loop/ports.js'

/** How many of a repository's newest tasks `find` reads for a key. */
export const FIND_WINDOW = 30

/**
 * Task state → the loop's status (GitHub's documented enum). `waiting_for_user`
 * is idle: the agent stopped and wants a human, which the loop's idle-grace
 * and pre-push deadlines hand back to one.
 */
const STATES: Readonly<Record<string, ThreadStatus>> = {
  queued: 'running',
  in_progress: 'running',
  completed: 'idle',
  idle: 'idle',
  waiting_for_user: 'idle',
  failed: 'error',
  timed_out: 'error',
  cancelled: 'error'
}

/** A task's state for the loop; a state not in the table is unknown (null). */
export function copilotTaskStatus(state: unknown): ThreadStatus | null {
  return typeof state === 'string' && Object.hasOwn(STATES, state) ? (STATES[state] ?? null) : null
}

/** The line that carries the run key in the task's prompt. */
export function keyLine(key: string): string {
  return `afk-loop-run-key: ${key}`
}

/** The key a prompt carries, if any (the last such line wins). */
export function keyOfPrompt(prompt: string): string | null {
  const matches = [...prompt.matchAll(/^afk-loop-run-key: (\S+)$/gm)]
  return matches.at(-1)?.[1] ?? null
}

/** What the task is asked, around the rendered prompt: where to deliver, and its key. */
export function taskPrompt(request: DispatchRequest): string {
  const where = request.branch
    ? `Commit your fix to the branch \`${request.branch}\` of the run's open pull request; don't open another pull request.`
    : `Work on the branch \`${runBranch(request.issue)}\` and open a pull request from it that closes ${request.repo.fullName}#${request.issue} (write "Closes #${request.issue}" in its description): the loop only counts work on that branch.`
  return `${request.prompt}\n\n---\n${where}\n${keyLine(request.key)}\n`
}

interface TaskJson {
  id: string
  state?: unknown
  html_url?: string
  sessions?: { prompt?: string }[]
  artifacts?: unknown
}

/** A task's `artifacts`: of these the loop reads only the branch (`type: branch`, `data.head_ref`). */
const artifactsSchema = z.array(
  z.object({ type: z.string(), data: z.object({ head_ref: z.string().min(1) }).partial() })
)

/**
 * The branch a task works on, from its artifacts; null when it names none
 * (or in a shape the docs don't describe). Copilot may pick its own branch
 * instead of the `afk/issue-N` the prompt asks for: the loop counts this one
 * as the run's too (still only in the issue's own repository).
 */
export function taskBranch(task: { artifacts?: unknown }): string | null {
  const parsed = artifactsSchema.safeParse(task.artifacts ?? [])
  if (!parsed.success) return null
  return parsed.data.find((a) => a.type === 'branch' && a.data.head_ref)?.data.head_ref ?? null
}

export interface CopilotAgentOptions {
  /** Clients holding copilot-token: the agent tasks API. */
  copilot: GitHubClients
  /** The loop's own clients: repository reads. */
  github: GitHubClients
  /** Branch to base work on; null = the repository's default branch. */
  baseRef: string | null
  model: string | null
}

interface HttpError {
  status?: number
  message?: unknown
  response?: { data?: { message?: unknown } }
}

export function createCopilotAgent(options: CopilotAgentOptions): AgentPort {
  const api = options.copilot
  const defaultBranches = new Map<string, string>()
  /** Task id → the key its prompt carries (null: none); a task's first prompt never changes. */
  const keys = new Map<string, string | null>()

  const explain = (repo: RepoRef, error: unknown): Error => {
    const e = (error ?? {}) as HttpError
    const said = typeof e.message === 'string' ? e.message.slice(0, 200) : ''
    if (e.status === 401)
      return new AgentUnavailableError(
        `GitHub rejected copilot-token (HTTP 401): it is expired, revoked or wrong. Pass a fine-grained personal access token or GitHub App user token with "Agent tasks" (read and write).`
      )
    if (e.status === 403)
      return new AgentUnavailableError(
        `GitHub refused copilot-token the agent tasks API in ${repo.fullName} (HTTP 403: ${said || 'forbidden'}): it must be a user token (a fine-grained personal access token or GitHub App user token, not GITHUB_TOKEN or an installation token) with the repository permission "Agent tasks" (read and write), of a user with a Copilot Business or Enterprise seat.`
      )
    if (e.status === 404)
      return new AgentUnavailableError(
        `this GitHub does not offer agent tasks for ${repo.fullName} (HTTP 404 from /agents/repos/…): the agent tasks API is a public preview of github.com, or copilot-token can't see the repository.`
      )
    const network = networkCause(error)
    if (network)
      return new AgentUnavailableError(
        `GitHub is unreachable (${network}) while using the agent tasks API`
      )
    if (e.status === 422)
      return new PermanentDispatchError(
        `GitHub refused to start a Copilot task in ${repo.fullName} (HTTP 422: ${said}): check copilot-model and copilot-base-ref.`
      )
    return new Error(`agent tasks API in ${repo.fullName}: ${said || String(error)}`)
  }

  const path = (repo: RepoRef) => ({ owner: repo.owner, repo: repo.name })

  async function listTasks(
    repo: RepoRef,
    query: { per_page: number; sort: 'created_at' | 'updated_at' }
  ): Promise<TaskJson[]> {
    const res = await api.reader.request('GET /agents/repos/{owner}/{repo}/tasks', {
      ...path(repo),
      ...query,
      direction: 'desc'
    } as never)
    return ((res.data as { tasks?: TaskJson[] }).tasks ?? []).filter(
      (t) => typeof t?.id === 'string'
    )
  }

  async function getTask(repo: RepoRef, id: string): Promise<TaskJson | null> {
    try {
      const res = await api.reader.request('GET /agents/repos/{owner}/{repo}/tasks/{task_id}', {
        ...path(repo),
        task_id: id
      } as never)
      return res.data as TaskJson
    } catch (error) {
      if ((error as HttpError).status === 404) return null
      throw error
    }
  }

  const threadOf = (task: TaskJson): DispatchedThread => ({
    threadId: task.id,
    url: typeof task.html_url === 'string' ? task.html_url : null
  })

  async function findByKey(repo: RepoRef, key: string): Promise<DispatchedThread | null> {
    for (const task of await listTasks(repo, { per_page: FIND_WINDOW, sort: 'created_at' })) {
      if (!keys.has(task.id)) {
        const full = await getTask(repo, task.id)
        const prompts = (full?.sessions ?? []).map((s) => s.prompt ?? '')
        keys.set(task.id, prompts.map(keyOfPrompt).find((k) => k !== null) ?? null)
      }
      if (keys.get(task.id) === key) return threadOf(task)
    }
    return null
  }

  async function defaultBranch(repo: RepoRef): Promise<string> {
    const known = defaultBranches.get(repo.key)
    if (known) return known
    const res = await options.github.reader.request('GET /repos/{owner}/{repo}', path(repo))
    defaultBranches.set(repo.key, res.data.default_branch)
    return res.data.default_branch
  }

  return {
    async snapshot(threads: readonly ThreadQuery[]): Promise<AgentSnapshot> {
      const statuses = new Map<string, ThreadStatus | null>()
      const branches = new Map<string, string>()
      const note = (task: TaskJson): void => {
        statuses.set(task.id, copilotTaskStatus(task.state))
        const branch = taskBranch(task)
        if (branch) branches.set(task.id, branch)
      }
      const errors: string[] = []
      let unavailable = false
      const byRepo = new Map<string, { repo: RepoRef; ids: Set<string> }>()
      for (const t of threads) {
        const entry = byRepo.get(t.repo.key) ?? { repo: t.repo, ids: new Set<string>() }
        entry.ids.add(t.threadId)
        byRepo.set(t.repo.key, entry)
      }
      for (const { repo, ids } of byRepo.values()) {
        try {
          for (const task of await listTasks(repo, { per_page: 100, sort: 'updated_at' })) {
            if (ids.has(task.id)) note(task)
          }
          for (const id of ids) {
            if (statuses.has(id)) continue
            const task = await getTask(repo, id) // gone (404) → unknown: the loop waits
            if (task) note(task)
          }
        } catch (error) {
          const explained = explain(repo, error)
          if (explained instanceof AgentUnavailableError) unavailable = true
          errors.push(explained.message)
        }
      }
      return {
        error: errors.length ? errors.join('; ') : null,
        ...(unavailable ? { unavailable } : {}),
        status: (id) => statuses.get(id) ?? null,
        branch: (id) => branches.get(id) ?? null
      }
    },

    async dispatch(request: DispatchRequest): Promise<DispatchedThread> {
      const repo = request.repo
      try {
        const existing = await findByKey(repo, request.key)
        if (existing) return existing
        const base = options.baseRef ?? (await defaultBranch(repo))
        const res = await api.writer.request('POST /agents/repos/{owner}/{repo}/tasks', {
          ...path(repo),
          prompt: taskPrompt(request),
          base_ref: base,
          create_pull_request: true,
          ...(request.branch ? { head_ref: request.branch } : {}),
          ...(options.model ? { model: options.model } : {})
        } as never)
        const task = res.data as TaskJson
        if (typeof task?.id !== 'string') throw new Error('GitHub answered without a task id')
        keys.set(task.id, request.key)
        return threadOf(task)
      } catch (error) {
        throw explain(repo, error)
      }
    },

    async find(query: { repo: RepoRef; key: string }): Promise<DispatchedThread | null> {
      try {
        return await findByKey(query.repo, query.key)
      } catch (error) {
        throw explain(query.repo, error)
      }
    },

    /** GitHub documents no way to stop a task: the loop only stops tracking it. */
    // GitHub documents no way to stop an agent task: nothing is sent.
    async interrupt(): Promise<boolean> {
      return false
    },

    async check(repos: readonly RepoRef[]): Promise<AgentCheck> {
      const results: AgentCheck['repos'] = []
      let reach: AgentCheck['reach'] = {
        ok: true,
        detail: 'GitHub accepted copilot-token for the agent tasks API.'
      }
      for (const repo of repos) {
        try {
          await listTasks(repo, { per_page: 1, sort: 'updated_at' })
          results.push({
            repo: repo.fullName,
            ok: true,
            detail:
              'copilot-token may read its agent tasks (starting one also needs "Agent tasks: write").'
          })
        } catch (error) {
          const explained = explain(repo, error)
          const status = (error as HttpError).status
          // A rejected token, or no agent tasks API at all, concerns the backend as a whole.
          if (status === 401 || status === 404 || networkCause(error))
            reach = { ok: false, detail: explained.message }
          results.push({ repo: repo.fullName, ok: false, detail: explained.message })
        }
      }
      return { backend: 'GitHub Copilot cloud agent (agent tasks API)', reach, repos: results }
    }
  }
}

/** A network failure's code (ECONNREFUSED, …) anywhere in an error's cause chain. */
function networkCause(error: unknown): string | null {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current; depth++) {
    const e = current as { code?: unknown; message?: unknown; cause?: unknown }
    if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code
    if (typeof e.message === 'string' && /fetch failed/.test(e.message)) return 'fetch failed'
    current = e.cause
  }
  return null
}
