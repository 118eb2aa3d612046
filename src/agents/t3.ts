/**
 * The T3 Code backend: a T3 server's plain HTTP API (see
 * `shared/reference/t3-code-api.md`), with a bearer token.
 *
 * - `snapshot`: one `GET /api/orchestration/snapshot` per tick, validated
 *   leniently thread by thread; each thread maps to running / idle / error by
 *   {@link t3ThreadStatus}, and anything unrecognised, missing or deleted is
 *   `null` — the loop waits on what it can't read. A failed read is reported,
 *   never thrown.
 * - `dispatch`: `thread.create` then `thread.turn.start`, with the thread id
 *   and command ids derived from the run's intent key. Because the id is the
 *   client's, a dispatch repeated after a crash first looks for the thread:
 *   found with a turn → nothing is sent; found without one → only the turn.
 * - `interrupt`: `thread.turn.interrupt`.
 * Every request has a timeout; errors say what to fix and never carry the token.
 */
import { createHash } from 'node:crypto'
import { z } from 'zod'
import type { RepoRef, T3ModelSelection } from '../config.js'
import type { AgentCheck } from '../core/check.js'
import type { ThreadStatus } from '../core/types.js'
import type {
  AgentPort,
  AgentSnapshot,
  DispatchRequest,
  DispatchedThread,
  ThreadQuery
} from '../loop/ports.js'

export interface T3Options {
  url: string
  token: string
  /** Lowercase `owner/name` → project id (the `t3-projects` input). */
  projects: Record<string, string>
  model: T3ModelSelection | null
  runtimeMode: 'approval-required' | 'auto-accept-edits' | 'full-access'
  timeoutMs?: number
  fetch?: typeof fetch
  now?: () => Date
}

// Lenient shapes: unknown fields are ignored; each thread is checked on its own.
const turnSchema = z
  .object({ turnId: z.string().optional(), state: z.string() })
  .nullable()
  .optional()
const sessionSchema = z
  .object({ status: z.string(), activeTurnId: z.string().nullable().optional() })
  .nullable()
  .optional()
const threadSchema = z.object({
  id: z.string(),
  projectId: z.string().optional(),
  title: z.string().optional(),
  latestTurn: turnSchema,
  session: sessionSchema,
  deletedAt: z.string().nullable().optional()
})
const projectSchema = z.object({
  id: z.string(),
  title: z.string().optional(),
  defaultModelSelection: z.unknown().optional(),
  deletedAt: z.string().nullable().optional(),
  repositoryIdentity: z
    .object({
      canonicalKey: z.string().optional(),
      owner: z.string().optional(),
      name: z.string().optional()
    })
    .nullable()
    .optional()
})
const snapshotSchema = z.object({
  projects: z.array(z.unknown()),
  threads: z.array(z.unknown())
})

export type T3Thread = z.infer<typeof threadSchema>
type T3Project = z.infer<typeof projectSchema>

const SESSION: Readonly<Record<string, 'running' | 'error' | 'settled'>> = {
  starting: 'running',
  running: 'running',
  error: 'error',
  idle: 'settled',
  ready: 'settled',
  interrupted: 'settled',
  stopped: 'settled'
}
const TURN: Readonly<Record<string, 'running' | 'error' | 'settled'>> = {
  running: 'running',
  error: 'error',
  completed: 'settled',
  interrupted: 'settled'
}

/**
 * A thread's status for the loop: running if the session or the turn says
 * so, error if either errored, idle when what is there is recognised and
 * settled; unknown (null) for anything else, or a deleted thread.
 */
export function t3ThreadStatus(
  thread: Pick<T3Thread, 'session' | 'latestTurn' | 'deletedAt'>
): ThreadStatus | null {
  if (thread.deletedAt) return null
  const session = thread.session ? (SESSION[thread.session.status] ?? 'unknown') : null
  const turn = thread.latestTurn ? (TURN[thread.latestTurn.state] ?? 'unknown') : null
  if (session === null && turn === null) return null
  if (session === 'running' || turn === 'running') return 'running'
  if (session === 'error' || turn === 'error') return 'error'
  if (session === 'unknown' || turn === 'unknown') return null
  return 'idle'
}

/** The ids a dispatch under a key uses: the same on every retry. */
export function t3Ids(key: string): {
  threadId: string
  create: string
  turn: string
  message: string
} {
  const short = createHash('sha256').update(key).digest('hex').slice(0, 8)
  return {
    threadId: key,
    create: `afk-${short}-create`,
    turn: `afk-${short}-turn`,
    message: `afk-${short}-message`
  }
}

class T3Error extends Error {
  constructor(
    message: string,
    readonly status: number | null = null
  ) {
    super(message)
    this.name = 'T3Error'
  }
}

export function createT3Agent(options: T3Options): AgentPort {
  const base = options.url.replace(/\/+$/, '')
  const doFetch = options.fetch ?? fetch
  const timeoutMs = options.timeoutMs ?? 15_000
  const now = options.now ?? (() => new Date())

  async function call(path: string, init: { method: string; body?: unknown }): Promise<unknown> {
    let response: Response
    try {
      response = await doFetch(`${base}${path}`, {
        method: init.method,
        headers: {
          authorization: `Bearer ${options.token}`,
          accept: 'application/json',
          ...(init.body !== undefined ? { 'content-type': 'application/json' } : {})
        },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        signal: AbortSignal.timeout(timeoutMs)
      })
    } catch (error) {
      const name = (error as { name?: string } | null)?.name
      if (name === 'TimeoutError') {
        throw new T3Error(`T3 server at ${base} did not answer within ${timeoutMs / 1000}s`)
      }
      throw new T3Error(`T3 server at ${base} is unreachable (${causeOf(error)})`)
    }
    const text = await response.text()
    if (response.status === 401 || response.status === 403) {
      throw new T3Error(
        `t3-token was rejected by ${base} (HTTP ${response.status}); issue a new one with \`t3 auth session issue\``,
        response.status
      )
    }
    let json: unknown
    try {
      json = text ? JSON.parse(text) : null
    } catch {
      json = null
    }
    if (!response.ok) {
      const detail = (json as { error?: unknown } | null)?.error
      throw new T3Error(
        `T3 server at ${base} refused ${path} with HTTP ${response.status}${typeof detail === 'string' ? `: ${scrub(detail)}` : ''}`,
        response.status
      )
    }
    return json
  }

  /** Never let the token into a message, whatever the server echoes. */
  function scrub(text: string): string {
    return options.token ? text.split(options.token).join('***') : text
  }

  async function readSnapshot(): Promise<{
    threads: Map<string, T3Thread>
    projects: T3Project[]
  }> {
    const parsed = snapshotSchema.safeParse(
      await call('/api/orchestration/snapshot', { method: 'GET' })
    )
    if (!parsed.success)
      throw new T3Error(
        `T3 server at ${base} answered the snapshot in a shape afk-loop doesn't know`
      )
    const threads = new Map<string, T3Thread>()
    for (const raw of parsed.data.threads) {
      const thread = threadSchema.safeParse(raw)
      if (thread.success) threads.set(thread.data.id, thread.data)
    }
    const projects: T3Project[] = []
    for (const raw of parsed.data.projects) {
      const project = projectSchema.safeParse(raw)
      if (project.success && !project.data.deletedAt) projects.push(project.data)
    }
    return { threads, projects }
  }

  function projectFor(repo: DispatchRequest['repo'], projects: readonly T3Project[]): string {
    const mapped = options.projects[repo.key]
    if (mapped) return mapped
    const match = projects.find((p) => {
      const id = p.repositoryIdentity
      if (!id) return false
      if (id.owner && id.name && `${id.owner}/${id.name}`.toLowerCase() === repo.key) return true
      const canonical = (id.canonicalKey ?? '').toLowerCase()
      return canonical === repo.key || canonical.endsWith(`/${repo.key}`)
    })
    if (!match) {
      throw new T3Error(
        `no T3 project on ${base} matches ${repo.fullName}: register a checkout of it on the T3 host (t3 project add), or map it in the t3-projects input (${repo.fullName}=<projectId>)`
      )
    }
    return match.id
  }

  const dispatched = (threadId: string): DispatchedThread => ({ threadId, url: null })

  return {
    async snapshot(_threads: readonly ThreadQuery[]): Promise<AgentSnapshot> {
      try {
        const { threads } = await readSnapshot()
        return {
          error: null,
          status: (threadId) => {
            const thread = threads.get(threadId)
            return thread ? t3ThreadStatus(thread) : null
          }
        }
      } catch (error) {
        return { error: error instanceof Error ? error.message : String(error), status: () => null }
      }
    },

    async dispatch(request: DispatchRequest): Promise<DispatchedThread> {
      const ids = t3Ids(request.key)
      const { threads, projects } = await readSnapshot()
      const existing = threads.get(ids.threadId)
      if (existing?.latestTurn) return dispatched(ids.threadId)
      const at = now().toISOString()
      if (!existing) {
        const projectId = projectFor(request.repo, projects)
        await call('/api/orchestration/dispatch', {
          method: 'POST',
          body: {
            type: 'thread.create',
            commandId: ids.create,
            threadId: ids.threadId,
            projectId,
            title: `${request.repo.fullName}#${request.issue}: ${request.title} (${request.attempt === 0 ? 'first turn' : `fix-forward ${request.attempt}`})`,
            ...(options.model ? { modelSelection: options.model } : {}),
            runtimeMode: options.runtimeMode,
            interactionMode: 'default',
            branch: null,
            worktreePath: null,
            createdAt: at
          }
        })
      }
      await call('/api/orchestration/dispatch', {
        method: 'POST',
        body: {
          type: 'thread.turn.start',
          commandId: ids.turn,
          threadId: ids.threadId,
          message: { messageId: ids.message, role: 'user', text: request.prompt, attachments: [] },
          runtimeMode: options.runtimeMode,
          interactionMode: 'default',
          ...(options.model ? { modelSelection: options.model } : {}),
          createdAt: at
        }
      })
      return dispatched(ids.threadId)
    },

    async find(query: {
      repo: DispatchRequest['repo']
      key: string
    }): Promise<DispatchedThread | null> {
      const { threadId } = t3Ids(query.key)
      const { threads } = await readSnapshot()
      const thread = threads.get(threadId)
      // A thread without a turn is half a dispatch: dispatch() completes it.
      return thread && thread.latestTurn && !thread.deletedAt ? dispatched(threadId) : null
    },

    async check(repos: readonly RepoRef[]): Promise<AgentCheck> {
      const backend = `T3 Code server at ${base}`
      let projects: T3Project[]
      try {
        projects = (await readSnapshot()).projects
      } catch (error) {
        return {
          backend,
          reach: { ok: false, detail: `${(error as Error).message}.` },
          repos: []
        }
      }
      return {
        backend,
        reach: { ok: true, detail: 'reachable, and it accepted t3-token (read its snapshot).' },
        repos: repos.map((repo) => {
          let projectId: string
          try {
            projectId = projectFor(repo, projects)
          } catch (error) {
            return { repo: repo.fullName, ok: false, detail: `${(error as Error).message}.` }
          }
          const project = projects.find((p) => p.id === projectId)
          if (!project) {
            return {
              repo: repo.fullName,
              ok: false,
              detail: `t3-projects maps it to ${projectId}, which ${base} doesn't have.`
            }
          }
          if (!options.model && project.defaultModelSelection == null) {
            return {
              repo: repo.fullName,
              ok: false,
              detail: `project ${projectId} has no default model and t3-model is empty: set t3-model (e.g. codex:gpt-5-codex) or give the project a default model.`
            }
          }
          return {
            repo: repo.fullName,
            ok: true,
            detail: `project ${projectId}${project.title ? ` (${project.title})` : ''}, model ${options.model ? `${options.model.instanceId}:${options.model.model} (t3-model)` : "the project's default"}.`
          }
        })
      }
    },

    async interrupt(query: ThreadQuery): Promise<void> {
      await call('/api/orchestration/dispatch', {
        method: 'POST',
        body: {
          type: 'thread.turn.interrupt',
          commandId: `afk-interrupt-${createHash('sha256').update(query.threadId).digest('hex').slice(0, 8)}-${now().getTime()}`,
          threadId: query.threadId,
          createdAt: now().toISOString()
        }
      })
    }
  }
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string } } | null)?.cause
  return cause?.code ?? (error as { name?: string } | null)?.name ?? 'unknown error'
}
