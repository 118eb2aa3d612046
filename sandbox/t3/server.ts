/**
 * A loopback T3 Code server speaking the contract in
 * `shared/reference/t3-code-api.md`: bearer auth, the orchestration snapshot,
 * and the commands the loop sends (`project.create`, `thread.create`,
 * `thread.turn.start`, `thread.turn.interrupt`), rejecting anything else the
 * way T3 does (400 with `{ error }`).
 *
 * Each turn runs a scripted "agent": a list of steps the test (or the demo)
 * chooses per thread — keep running, do something (push a commit to the
 * loopback GitHub), go idle, fail, or stall forever. Steps advance only when
 * `advance()` is called, so whole lifecycles play out deterministically.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One step of a scripted agent, taken on each `advance()`. */
export type AgentStep =
  'run' | 'idle' | 'error' | 'stall' | { do: (thread: SandboxThread) => void | Promise<void> }

export interface SandboxProject {
  id: string
  title: string
  workspaceRoot: string
  repositoryIdentity: { canonicalKey: string; owner: string; name: string; provider: string } | null
  deletedAt: string | null
}

export interface SandboxThread {
  id: string
  projectId: string
  title: string
  runtimeMode: string
  latestTurn: {
    turnId: string
    state: 'running' | 'interrupted' | 'completed' | 'error'
    requestedAt: string
  } | null
  session: {
    threadId: string
    status: string
    activeTurnId: string | null
    lastError: string | null
  } | null
  messages: { messageId: string; role: string; text: string }[]
  deletedAt: string | null
  /** Steps still to take in the current turn. */
  steps: AgentStep[]
  stalled: boolean
}

export interface T3SandboxOptions {
  token: string
  projects?: SandboxProject[]
  /** The agent's steps for a turn (default: work a little, then go idle). */
  script?: (thread: SandboxThread, text: string) => AgentStep[]
  /** Answer every request with this status (e.g. 500), or per path. */
  fault?: { status: number; path?: string } | null
  /** Listen on this port (default: any free port). */
  port?: number
  /** Delay every answer by this many ms (the benchmark's network). */
  latencyMs?: number
  /** After the k-th applied command, call `kill` and never answer (a crash mid-dispatch). */
  killAfterCommands?: { k: number; kill: () => void }
}

export interface T3Sandbox {
  url: string
  threads: Map<string, SandboxThread>
  projects: SandboxProject[]
  /** Requests by kind: `snapshot`, or the command type. */
  counts: Record<string, number>
  options: T3SandboxOptions
  /** Every running thread takes one step. */
  advance(): Promise<void>
  /** Seed a thread with a running turn, as if dispatched (benchmarks seed thousands). */
  addThread(thread: { id: string; projectId: string; title: string; steps: AgentStep[] }): void
  close(): Promise<void>
}

/** A project for a repository, as `t3 project add` would register it. */
export function projectFor(
  fullName: string,
  id = `proj-${fullName.replace('/', '-')}`
): SandboxProject {
  const [owner = '', name = ''] = fullName.split('/')
  return {
    id,
    title: name,
    workspaceRoot: `/srv/${name}`,
    repositoryIdentity: {
      canonicalKey: `github.com/${fullName}`.toLowerCase(),
      owner,
      name,
      provider: 'github'
    },
    deletedAt: null
  }
}

const KNOWN = new Set([
  'project.create',
  'thread.create',
  'thread.turn.start',
  'thread.turn.interrupt',
  'thread.session.stop'
])

export async function startT3Sandbox(options: T3SandboxOptions): Promise<T3Sandbox> {
  const threads = new Map<string, SandboxThread>()
  const projects = options.projects ?? []
  const counts: Record<string, number> = {}
  let sequence = 0
  let applied = 0
  const now = () => new Date().toISOString()
  const count = (kind: string) => (counts[kind] = (counts[kind] ?? 0) + 1)

  const sandbox: T3Sandbox = {
    url: '',
    threads,
    projects,
    counts,
    options,
    async advance() {
      for (const thread of threads.values()) {
        if (thread.latestTurn?.state !== 'running' || thread.stalled) continue
        const step = thread.steps.shift() ?? 'idle'
        if (step === 'run') continue
        if (step === 'stall') {
          thread.stalled = true
          continue
        }
        if (typeof step === 'object') {
          await step.do(thread)
          continue
        }
        finishTurn(thread, step === 'error' ? 'error' : 'completed')
      }
    },
    addThread({ id, projectId, title, steps }) {
      const turnId = `turn-${++sequence}`
      threads.set(id, {
        id,
        projectId,
        title,
        runtimeMode: 'full-access',
        latestTurn: { turnId, state: 'running', requestedAt: now() },
        session: { threadId: id, status: 'running', activeTurnId: turnId, lastError: null },
        messages: [],
        deletedAt: null,
        steps: [...steps],
        stalled: false
      })
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }

  function finishTurn(thread: SandboxThread, state: 'completed' | 'error' | 'interrupted'): void {
    if (!thread.latestTurn) return
    thread.latestTurn.state = state
    thread.session = {
      threadId: thread.id,
      status: state === 'error' ? 'error' : state === 'interrupted' ? 'interrupted' : 'ready',
      activeTurnId: null,
      lastError: state === 'error' ? 'the scripted agent failed' : null
    }
    thread.steps = []
    thread.stalled = false
  }

  function command(body: Record<string, unknown>): { status: number; body: unknown } {
    const type = String(body.type ?? '')
    count(type || 'unknown')
    if (!KNOWN.has(type)) return { status: 400, body: { error: `Unknown command type '${type}'` } }
    const need = (field: string): string | null =>
      typeof body[field] === 'string' && body[field] !== '' ? (body[field] as string) : null
    if (!need('commandId')) return { status: 400, body: { error: 'commandId is required' } }
    switch (type) {
      case 'project.create': {
        const id = need('projectId')
        if (!id) return { status: 400, body: { error: 'projectId is required' } }
        projects.push({
          id,
          title: String(body.title ?? id),
          workspaceRoot: String(body.workspaceRoot ?? ''),
          repositoryIdentity: null,
          deletedAt: null
        })
        break
      }
      case 'thread.create': {
        const id = need('threadId')
        const projectId = need('projectId')
        if (!id || !projectId)
          return { status: 400, body: { error: 'threadId and projectId are required' } }
        if (threads.has(id))
          return { status: 400, body: { error: `Thread '${id}' already exists` } }
        if (!projects.some((p) => p.id === projectId))
          return { status: 400, body: { error: `Project '${projectId}' does not exist` } }
        threads.set(id, {
          id,
          projectId,
          title: String(body.title ?? ''),
          runtimeMode: String(body.runtimeMode ?? 'full-access'),
          latestTurn: null,
          session: null,
          messages: [],
          deletedAt: null,
          steps: [],
          stalled: false
        })
        break
      }
      case 'thread.turn.start': {
        const thread = threads.get(need('threadId') ?? '')
        if (!thread)
          return {
            status: 400,
            body: { error: `Thread '${String(body.threadId)}' does not exist` }
          }
        const message = body.message as { messageId?: string; text?: string } | undefined
        if (!message?.messageId || typeof message.text !== 'string')
          return { status: 400, body: { error: 'message.messageId and message.text are required' } }
        if (thread.messages.some((m) => m.messageId === message.messageId)) break // the same command again: idempotent
        const turnId = `turn-${++sequence}`
        thread.messages.push({ messageId: message.messageId, role: 'user', text: message.text })
        thread.latestTurn = { turnId, state: 'running', requestedAt: now() }
        thread.session = {
          threadId: thread.id,
          status: 'running',
          activeTurnId: turnId,
          lastError: null
        }
        thread.steps = [...(options.script?.(thread, message.text) ?? ['run', 'idle'])]
        thread.stalled = false
        break
      }
      case 'thread.turn.interrupt':
      case 'thread.session.stop': {
        const thread = threads.get(need('threadId') ?? '')
        if (!thread)
          return {
            status: 400,
            body: { error: `Thread '${String(body.threadId)}' does not exist` }
          }
        if (thread.latestTurn?.state === 'running') finishTurn(thread, 'interrupted')
        break
      }
    }
    return { status: 200, body: { sequence: ++sequence } }
  }

  function snapshot(): unknown {
    return {
      snapshotSequence: sequence,
      updatedAt: now(),
      projects: projects.map((p) => ({
        ...p,
        defaultModelSelection: null,
        scripts: [],
        createdAt: now(),
        updatedAt: now()
      })),
      threads: [...threads.values()].map((t) => ({
        id: t.id,
        projectId: t.projectId,
        title: t.title,
        modelSelection: { instanceId: 'codex', model: 'scripted' },
        runtimeMode: t.runtimeMode,
        interactionMode: 'default',
        branch: null,
        worktreePath: null,
        latestTurn: t.latestTurn
          ? {
              ...t.latestTurn,
              startedAt: t.latestTurn.requestedAt,
              completedAt: null,
              assistantMessageId: null
            }
          : null,
        session: t.session
          ? { ...t.session, providerName: 'codex', runtimeMode: t.runtimeMode, updatedAt: now() }
          : null,
        messages: t.messages,
        activities: [],
        checkpoints: [],
        proposedPlans: [],
        createdAt: now(),
        updatedAt: now(),
        archivedAt: null,
        deletedAt: t.deletedAt
      }))
    }
  }

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const path = new URL(req.url ?? '/', 'http://t3').pathname
    if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs))
    if (req.headers.authorization !== `Bearer ${options.token}`)
      return send(res, 401, { error: 'Unauthorized' })
    const fault = options.fault
    if (fault && (!fault.path || fault.path === path))
      return send(res, fault.status, { error: `sandbox fault ${fault.status}` })
    if (req.method === 'GET' && path === '/api/orchestration/snapshot') {
      count('snapshot')
      return send(res, 200, snapshot())
    }
    if (req.method === 'POST' && path === '/api/orchestration/dispatch') {
      let body: Record<string, unknown>
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>
      } catch {
        return send(res, 400, { error: 'Invalid JSON body' })
      }
      const result = command(body)
      const kill = options.killAfterCommands
      if (result.status === 200 && kill && ++applied === kill.k) {
        kill.kill()
        res.socket?.destroy()
        return
      }
      return send(res, result.status, result.body)
    }
    return send(res, 404, { error: 'Not found' })
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, 500, { error: String(error) }))
  })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  sandbox.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return sandbox
}
