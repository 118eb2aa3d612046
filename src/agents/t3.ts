/**
 * The T3 Code backend: a T3 server's plain HTTP API, with a bearer token,
 * on every release from v0.0.16 on (`docs/reference/t3-code.md` has the
 * facts per generation and where they were checked).
 *
 * - `snapshot`: one `GET /api/orchestration/snapshot` per tick, bounded in
 *   bytes, validated leniently thread by thread; each thread maps to running
 *   / idle / error by {@link t3ThreadStatus}, and anything unrecognised,
 *   missing or deleted is `null` — the loop waits on what it can't read. A
 *   failed read is reported, never thrown. The same read serves the tick's
 *   dispatches and lookups.
 * - `dispatch`: `thread.create` then `thread.turn.start`. The thread id is the
 *   run's intent key; command ids derive from the whole key (the create's
 *   also from a digest of what it carries, because T3 remembers a rejected
 *   command id forever: a retry after a configuration change needs a new
 *   one). A thread already there with a turn → nothing is sent; there without
 *   one → only the turn, under the same command id (T3 deduplicates it); a
 *   create T3 refuses because the thread exists counts as done.
 *   `thread.create` always carries a model: `t3-model`, else the project's
 *   default; with neither, nothing is sent and the run is handed back
 *   ({@link PermanentDispatchError}).
 * - `interrupt`: `thread.turn.interrupt`, under a command id fixed per
 *   thread and turn (`afk:<thread>:interrupt:<turn id>`): T3 answers a
 *   repeated id with its first sequence and does nothing (its receipt
 *   table), so an interrupt sent twice — by a retry after a crash, or a sweep
 *   that sees the thread still running before T3 has stopped it — is one
 *   interrupt. A later turn (a human's) gets a new id.
 * - `running` (the sweep of orphaned agents): the snapshot's threads that
 *   are running and whose id is an attempt key of the loop's — every thread
 *   it ever started, whatever issue it was for.
 *
 * Errors: a rejected token, a missing right, an unreachable or redirecting
 * server and an oversized snapshot are {@link AgentUnavailableError}s (not
 * the run's fault). T3's error bodies are never shown: messages are ours, say
 * what to fix, and carry neither the token nor the server's address (they
 * reach status comments and doorbells); the address goes to the log only.
 */
import { createHash } from 'node:crypto'
import { z } from 'zod'
import { T3_TOKEN_HOWTO, type RepoRef, type T3ModelSelection } from '../config.js'
import type { AgentCheck } from '../core/check.js'
import { parseAttemptKey } from '../core/orphans.js'
import { plainTitle } from '../core/prompts.js'
import type { ThreadStatus } from '../core/types.js'
import {
  AgentUnavailableError,
  PermanentDispatchError,
  type AgentPort,
  type AgentSnapshot,
  type DispatchRequest,
  type DispatchedThread,
  type ThreadQuery
} from '../loop/ports.js'

/** The most bytes read from one snapshot (T3 sends the whole read model). */
export const MAX_SNAPSHOT_BYTES = 50 * 1024 * 1024
/** How long one snapshot read serves dispatches and lookups (a tick's length, roughly). */
const SNAPSHOT_REUSE_MS = 60_000

export interface T3Options {
  url: string
  token: string
  /** Lowercase `owner/name` → project id (the `t3-projects` input). */
  projects: Record<string, string>
  model: T3ModelSelection | null
  runtimeMode: 'approval-required' | 'auto-accept-edits' | 'full-access'
  timeoutMs?: number
  maxSnapshotBytes?: number
  fetch?: typeof fetch
  now?: () => Date
  /** Where details that may name the server go (the job log, never comments). */
  log?: (message: string) => void
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
/** A model selection as the server itself wrote it (either wire form), sent back as is. */
const modelSelectionSchema = z.looseObject({
  provider: z.string().optional(),
  instanceId: z.string().optional(),
  model: z.string().trim().min(1)
})
const projectSchema = z.object({
  id: z.string(),
  title: z.string().optional(),
  deletedAt: z.string().nullable().optional(),
  repositoryIdentity: z
    .object({
      canonicalKey: z.string().optional(),
      owner: z.string().optional(),
      name: z.string().optional()
    })
    .nullable()
    .optional(),
  defaultModelSelection: z.unknown().optional()
})
const snapshotSchema = z.object({
  projects: z.array(z.unknown()),
  threads: z.array(z.unknown())
})

export type T3Thread = z.infer<typeof threadSchema>
interface T3Project {
  id: string
  /** Absent (not null) from v0.0.32's snapshot: look in the shell. */
  identity: { canonicalKey?: string; owner?: string; name?: string } | null | undefined
  defaultModel: Record<string, unknown> | null
}
interface Snapshot {
  threads: Map<string, T3Thread>
  projects: T3Project[]
}

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

/**
 * The ids a dispatch under a key uses. The whole key is in each (no short
 * hash to collide); the create's also carries a digest of its content, so a
 * create T3 rejected (a receipt it keeps forever) is sent under a new id once
 * the configuration that made it fail has changed. The turn's id never
 * changes: a turn re-sent after a lost answer must be deduplicated.
 */
export function t3Ids(
  key: string,
  createContent: unknown = null
): { threadId: string; create: string; turn: string; message: string } {
  const digest = createHash('sha256')
    .update(JSON.stringify(createContent))
    .digest('hex')
    .slice(0, 16)
  return {
    threadId: key,
    create: `afk:${key}:create:${digest}`,
    turn: `afk:${key}:turn`,
    message: `afk:${key}:message`
  }
}

/** A request T3 refused or couldn't serve, for this run only. */
class T3Error extends Error {
  constructor(
    message: string,
    readonly status: number | null = null
  ) {
    super(message)
    this.name = 'T3Error'
  }
}

/** Which HTTP generation answered: `legacy` ≤ v0.0.25, `environment` ≥ v0.0.26. */
type Generation = 'legacy' | 'environment'

const legacyAuthBody = z.object({ error: z.string() })
const environmentErrorBody = z.object({ _tag: z.string(), code: z.string() })

export function createT3Agent(options: T3Options): AgentPort {
  const base = options.url.replace(/\/+$/, '')
  const doFetch = options.fetch ?? fetch
  const timeoutMs = options.timeoutMs ?? 15_000
  const maxBytes = options.maxSnapshotBytes ?? MAX_SNAPSHOT_BYTES
  const now = options.now ?? (() => new Date())
  const log = options.log ?? (() => undefined)
  /** A request with this token has succeeded: an empty 500 is then not about the token. */
  let authenticated = false
  let cached: { at: number; read: Promise<Snapshot> } | null = null
  /** Threads this agent saw through to a sent turn (newer than any snapshot it holds). */
  const turned = new Set<string>()

  const TOKEN_REJECTED: Record<Generation, string> = {
    environment: `t3-token was rejected by the T3 server (HTTP 401): it is wrong, expired or revoked. Issue a new one on the T3 host with ${T3_TOKEN_HOWTO} and update the secret.`,
    legacy:
      't3-token was rejected by the T3 server (an empty HTTP 500, which is how T3 up to v0.0.25 answers a wrong, expired or revoked token). Issue a new one on the T3 host with `t3 auth session issue --role owner --ttl 30d --token-only` and update the secret.'
  }
  const NO_RIGHT: Record<Generation, string> = {
    environment: `t3-token lacks the administrative right T3 needs to start agents (HTTP 403). Issue a token on the T3 host itself with ${T3_TOKEN_HOWTO} (those carry it) and update the secret.`,
    legacy:
      't3-token is not an owner session, which T3 up to v0.0.25 needs to start agents (HTTP 400). Issue one on the T3 host with `t3 auth session issue --role owner --ttl 30d --token-only` and update the secret.'
  }

  function unavailable(message: string, detail: string): AgentUnavailableError {
    log(`T3 server at ${base}: ${detail}`)
    return new AgentUnavailableError(message)
  }

  /**
   * One request. Returns the parsed JSON (null for an empty body), or null
   * for a 404 when `allowMissing`. Throws {@link AgentUnavailableError} for
   * what concerns the whole backend and {@link T3Error} for the rest.
   */
  async function call(
    path: string,
    init: { method: string; body?: unknown; limit?: number; allowMissing?: boolean }
  ): Promise<unknown> {
    let response: Response
    try {
      response = await doFetch(`${base}${path}`, {
        method: init.method,
        redirect: 'error',
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
        throw unavailable(
          `the T3 server (t3-url) did not answer within ${timeoutMs / 1000}s`,
          `${path} timed out`
        )
      }
      if (isRedirectError(error)) throw redirected(path)
      throw unavailable(
        `the T3 server (t3-url) is unreachable (${causeOf(error)})`,
        `${path} failed: ${causeOf(error)}`
      )
    }
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel()
      throw redirected(path)
    }
    const limit = init.limit ?? 1024 * 1024
    const text = await readBounded(response, limit).catch((error: unknown) => {
      if (error instanceof TooLarge) {
        throw unavailable(
          `the T3 server's answer to ${path} is larger than ${Math.round(limit / 1024 / 1024)} MB, more than afk-loop reads; archive or delete old threads on the T3 host`,
          `${path} answer over ${limit} bytes`
        )
      }
      throw unavailable(
        `the T3 server (t3-url) broke off its answer (${causeOf(error)})`,
        `${path} body failed: ${causeOf(error)}`
      )
    })
    let json: unknown
    try {
      json = text ? JSON.parse(text) : null
    } catch {
      json = undefined
    }
    const status = response.status
    if (status === 401) throw unavailable(TOKEN_REJECTED.environment, `${path}: HTTP 401`)
    if (status === 403) throw unavailable(NO_RIGHT.environment, `${path}: HTTP 403`)
    // Up to v0.0.25, a missing or wrong token is an empty 500 (and a non-owner
    // one a 400 whose fixed text says so: matched, never shown).
    if (status === 500 && text.trim() === '' && !authenticated) {
      throw unavailable(TOKEN_REJECTED.legacy, `${path}: empty HTTP 500 before any success`)
    }
    const legacy = legacyAuthBody.safeParse(json)
    if (status === 400 && legacy.success && /^Only owner/i.test(legacy.data.error)) {
      throw unavailable(NO_RIGHT.legacy, `${path}: HTTP 400 (not an owner session)`)
    }
    if (status === 404 && init.allowMissing) return null
    if (status < 200 || status >= 300) {
      const generation = environmentErrorBody.safeParse(json).success ? ' (T3 ≥ v0.0.26)' : ''
      log(`T3 server at ${base}: ${init.method} ${path} answered HTTP ${status}${generation}`)
      throw new T3Error(
        `the T3 server refused ${describe(path, init.body)} (HTTP ${status})`,
        status
      )
    }
    authenticated = true
    if (json === undefined) {
      throw new T3Error(`the T3 server answered ${path} with something that is not JSON`)
    }
    return json
  }

  function redirected(path: string): AgentUnavailableError {
    return unavailable(
      'the T3 server (t3-url) answered with a redirect, and afk-loop follows none (it would carry the token and the prompt elsewhere). Set t3-url to the address the server really answers on.',
      `${path} redirected`
    )
  }

  async function readSnapshot(): Promise<Snapshot> {
    const parsed = snapshotSchema.safeParse(
      await call('/api/orchestration/snapshot', { method: 'GET', limit: maxBytes })
    )
    if (!parsed.success) {
      throw new T3Error("the T3 server answered the snapshot in a shape afk-loop doesn't know")
    }
    const threads = new Map<string, T3Thread>()
    for (const raw of parsed.data.threads) {
      const thread = threadSchema.safeParse(raw)
      if (thread.success) threads.set(thread.data.id, thread.data)
    }
    return { threads, projects: readProjects(parsed.data.projects) }
  }

  /** The tick's snapshot: the one `snapshot()` read, or a new read if none is recent. */
  function tickSnapshot(fresh = false): Promise<Snapshot> {
    const at = now().getTime()
    if (fresh || !cached || at - cached.at > SNAPSHOT_REUSE_MS || at < cached.at) {
      const read = readSnapshot()
      read.catch(() => undefined) // observed by each caller
      cached = { at, read }
    }
    return cached.read
  }

  let shell: Promise<T3Project[] | null> | null = null
  /** Projects with repository identities from the shell endpoint (v0.0.29+); null where there is none. */
  function shellProjects(): Promise<T3Project[] | null> {
    shell ??= call('/api/orchestration/shell', {
      method: 'GET',
      limit: maxBytes,
      allowMissing: true
    }).then((json) => {
      if (json === null) return null
      const parsed = z.object({ projects: z.array(z.unknown()) }).safeParse(json)
      return parsed.success ? readProjects(parsed.data.projects) : null
    })
    const pending = shell
    pending.catch(() => (shell = null)) // a failed read is tried again next time
    return pending
  }

  /** The project a repository's runs go to: `t3-projects`, then identity (snapshot, then shell). */
  async function projectFor(repo: DispatchRequest['repo'], snapshot: Snapshot): Promise<T3Project> {
    const mapped = options.projects[repo.key]
    if (mapped) {
      const project = snapshot.projects.find((p) => p.id === mapped)
      if (project) return project
      throw new T3Error(
        `the t3-projects input maps ${repo.fullName} to project ${mapped}, which the T3 server doesn't have (or has deleted): fix the mapping`
      )
    }
    const direct = snapshot.projects.find((p) => matches(p, repo.key))
    if (direct) return direct
    if (snapshot.projects.some((p) => p.identity === undefined)) {
      const fromShell = (await shellProjects())?.find((p) => matches(p, repo.key))
      if (fromShell) {
        // The shell has the identity; the snapshot (if it has the project) has the rest.
        return snapshot.projects.find((p) => p.id === fromShell.id) ?? fromShell
      }
    }
    throw new T3Error(
      `no T3 project matches ${repo.fullName}: register a checkout of it on the T3 host (t3 project add <path>), or map it in the t3-projects input (${repo.fullName}=<projectId>)`
    )
  }

  function modelFor(repo: DispatchRequest['repo'], project: T3Project): Record<string, unknown> {
    if (options.model) return { ...options.model }
    if (project.defaultModel) return project.defaultModel
    throw new PermanentDispatchError(
      `no model to start the agent with: set the t3-model input (e.g. codex:gpt-5-codex), or give the T3 project for ${repo.fullName} (${project.id}) a default model`
    )
  }

  const dispatched = (threadId: string): DispatchedThread => ({ threadId, url: null })

  return {
    listsRunning: true,
    async snapshot(_threads: readonly ThreadQuery[]): Promise<AgentSnapshot> {
      try {
        const { threads } = await tickSnapshot(true)
        const running = [...threads.values()]
          .filter((t) => parseAttemptKey(t.id) !== null && t3ThreadStatus(t) === 'running')
          .map((t) => ({ threadId: t.id, key: t.id }))
        return {
          error: null,
          status: (threadId) => {
            const thread = threads.get(threadId)
            return thread ? t3ThreadStatus(thread) : null
          },
          running: () => running
        }
      } catch (error) {
        return {
          error: error instanceof Error ? error.message : String(error),
          unavailable: error instanceof AgentUnavailableError,
          status: () => null,
          running: () => []
        }
      }
    },

    async dispatch(request: DispatchRequest): Promise<DispatchedThread> {
      const threadId = request.key
      if (turned.has(threadId)) return dispatched(threadId)
      const snapshot = await tickSnapshot()
      let existing = snapshot.threads.get(threadId)
      if (existing?.latestTurn) return dispatched(threadId)
      const at = now().toISOString()
      if (!existing) {
        const project = await projectFor(request.repo, snapshot)
        const create = {
          type: 'thread.create',
          threadId,
          projectId: project.id,
          title: threadTitle(request),
          modelSelection: modelFor(request.repo, project),
          runtimeMode: options.runtimeMode,
          interactionMode: 'default',
          branch: null,
          worktreePath: null
        }
        const { create: commandId } = t3Ids(request.key, create)
        try {
          await call('/api/orchestration/dispatch', {
            method: 'POST',
            body: { ...create, commandId, createdAt: at }
          })
        } catch (error) {
          if (!(error instanceof T3Error)) throw error
          // Refused: because the thread is already there (a create that went
          // through under another id)? Then it is done; otherwise it failed.
          existing = (await tickSnapshot(true)).threads.get(threadId)
          if (!existing) throw error
          if (existing.latestTurn) return dispatched(threadId)
        }
      }
      const ids = t3Ids(request.key)
      await call('/api/orchestration/dispatch', {
        method: 'POST',
        body: {
          type: 'thread.turn.start',
          commandId: ids.turn,
          threadId,
          message: { messageId: ids.message, role: 'user', text: request.prompt, attachments: [] },
          runtimeMode: options.runtimeMode,
          interactionMode: 'default',
          ...(options.model ? { modelSelection: { ...options.model } } : {}),
          createdAt: at
        }
      })
      turned.add(threadId)
      return dispatched(threadId)
    },

    async find(query: {
      repo: DispatchRequest['repo']
      key: string
    }): Promise<DispatchedThread | null> {
      const threadId = query.key
      if (turned.has(threadId)) return dispatched(threadId)
      const { threads } = await tickSnapshot()
      const thread = threads.get(threadId)
      // A thread without a turn is half a dispatch: dispatch() completes it.
      return thread && thread.latestTurn && !thread.deletedAt ? dispatched(threadId) : null
    },

    async check(repos: readonly RepoRef[]): Promise<AgentCheck> {
      const backend = 'T3 Code server (t3-url)'
      let snapshot: Snapshot
      try {
        snapshot = await tickSnapshot(true)
      } catch (error) {
        return {
          backend,
          reach: { ok: false, detail: `${(error as Error).message}.` },
          repos: []
        }
      }
      const results: AgentCheck['repos'] = []
      for (const repo of repos) {
        try {
          const project = await projectFor(repo, snapshot)
          const model = modelFor(repo, project)
          const named = [model.instanceId ?? model.provider, model.model].filter(Boolean).join(':')
          results.push({
            repo: repo.fullName,
            ok: true,
            detail: `project ${project.id}, model ${named}${options.model ? ' (t3-model)' : " (the project's default)"}.`
          })
        } catch (error) {
          results.push({ repo: repo.fullName, ok: false, detail: `${(error as Error).message}.` })
        }
      }
      return {
        backend,
        reach: { ok: true, detail: 'reachable, and it accepted t3-token (read its snapshot).' },
        repos: results
      }
    },

    async interrupt(query: ThreadQuery): Promise<void> {
      // The turn being stopped, from this tick's snapshot: one command id per
      // thread and turn, which T3 deduplicates.
      const thread = await tickSnapshot().then(
        (s) => s.threads.get(query.threadId),
        () => undefined
      )
      const turn = thread?.latestTurn?.turnId ?? thread?.session?.activeTurnId ?? 'none'
      await call('/api/orchestration/dispatch', {
        method: 'POST',
        body: {
          type: 'thread.turn.interrupt',
          commandId: `afk:${query.threadId}:interrupt:${turn}`,
          threadId: query.threadId,
          createdAt: now().toISOString()
        }
      })
    }
  }
}

/** The thread's title: `owner/repo#N: title (first turn | fix-forward n)`, never blank. */
function threadTitle(request: DispatchRequest): string {
  const attempt = request.attempt === 0 ? 'first turn' : `fix-forward ${request.attempt}`
  const title = plainTitle(request.title) || 'untitled'
  return `${request.repo.fullName}#${request.issue}: ${title} (${attempt})`
}

function readProjects(raw: readonly unknown[]): T3Project[] {
  const projects: T3Project[] = []
  for (const item of raw) {
    const parsed = projectSchema.safeParse(item)
    if (!parsed.success || parsed.data.deletedAt) continue
    const model = modelSelectionSchema.safeParse(parsed.data.defaultModelSelection)
    const routable = model.success && Boolean(model.data.instanceId ?? model.data.provider)
    projects.push({
      id: parsed.data.id,
      identity: parsed.data.repositoryIdentity,
      defaultModel: routable && model.success ? model.data : null
    })
  }
  return projects
}

function matches(project: T3Project, repoKey: string): boolean {
  const id = project.identity
  if (!id) return false
  if (id.owner && id.name && `${id.owner}/${id.name}`.toLowerCase() === repoKey) return true
  const canonical = (id.canonicalKey ?? '').toLowerCase()
  return canonical === repoKey || canonical.endsWith(`/${repoKey}`)
}

function describe(path: string, body: unknown): string {
  const type = (body as { type?: unknown } | undefined)?.type
  return typeof type === 'string' ? type : path
}

class TooLarge extends Error {}

/** The body as text, reading at most `limit` bytes (the snapshot can be huge). */
async function readBounded(response: Response, limit: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? NaN)
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel()
    throw new TooLarge()
  }
  if (!response.body) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel()
      throw new TooLarge()
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function isRedirectError(error: unknown): boolean {
  const cause = (error as { cause?: { message?: unknown } } | null)?.cause
  return /redirect/i.test(String(cause?.message ?? ''))
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string } } | null)?.cause
  return cause?.code ?? (error as { name?: string } | null)?.name ?? 'unknown error'
}
