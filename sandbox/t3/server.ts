/**
 * A loopback T3 Code server as strict as the real one, in the generation a
 * test picks (`contract.ts` has the transcribed schemas and what each
 * generation changes; docs/reference/t3-code.md the sources):
 *
 * - Auth: the owner token works; any other token fails as that generation
 *   fails it (≤ v0.0.25: an empty 500; ≥ v0.0.26: 401 with a tagged body),
 *   and a token in `limitedTokens` reads but may not dispatch (403, or
 *   ≤ v0.0.25's 400 "Only owner sessions…").
 * - Dispatch: the body is decoded with the generation's command schema
 *   (undecodable: 400 `{error}` ≤ v0.0.25, an empty 400 after); then the
 *   receipt table: a command id already accepted answers its first sequence
 *   and does nothing, one already rejected is rejected again forever; then
 *   the engine's invariants (a thread or project that already exists, or
 *   doesn't; the WebSocket-only bootstrap), each rejection recorded.
 *   Rejections answer 400 `{error: "Failed to dispatch…"}` ≤ v0.0.25 and 500
 *   `orchestration_dispatch_failed` after.
 * - Snapshot: the read model; from v0.0.32 without projects'
 *   `repositoryIdentity` (and threads' messages), which `GET
 *   /api/orchestration/shell` still carries.
 * - A turn's `latestTurn` appears only once its session runs: at the next
 *   `advance()`, not when `thread.turn.start` is accepted.
 *
 * Each turn runs a scripted "agent": a list of steps the test (or the demo)
 * chooses per thread — keep running, do something (push a commit to the
 * loopback GitHub), go idle, fail, or stall forever. Steps advance only when
 * `advance()` is called, so whole lifecycles play out deterministically.
 */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { commandSchema, GENERATION, type T3Command, type T3Generation } from './contract.js'

export { T3_GENERATIONS, type T3Generation } from './contract.js'

/** One step of a scripted agent, taken on each `advance()`. */
export type AgentStep =
  'run' | 'idle' | 'error' | 'stall' | { do: (thread: SandboxThread) => void | Promise<void> }

/** A model selection as the sandbox stores it; written out in the generation's wire form. */
export interface SandboxModel {
  /** The driver: `codex` or `claudeAgent` (what releases before v0.0.22 know). */
  provider: 'codex' | 'claudeAgent'
  instanceId: string
  model: string
}

export interface SandboxProject {
  id: string
  title: string
  workspaceRoot: string
  repositoryIdentity: { canonicalKey: string; owner: string; name: string; provider: string } | null
  defaultModelSelection: SandboxModel | null
  deletedAt: string | null
}

export interface SandboxThread {
  id: string
  projectId: string
  title: string
  runtimeMode: string
  /** As the create command carried it (decoded). */
  modelSelection: unknown
  latestTurn: {
    turnId: string
    state: 'running' | 'interrupted' | 'completed' | 'error'
    requestedAt: string
  } | null
  /** A turn accepted whose session has not started yet: no `latestTurn` until it does. */
  pendingTurn: { turnId: string; requestedAt: string; text: string } | null
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
  /** The owner token. */
  token: string
  /** Which T3 this is (default: the newest, v0.0.32). */
  generation?: T3Generation
  /** Tokens that authenticate but lack the right to dispatch. */
  limitedTokens?: string[]
  projects?: SandboxProject[]
  /** The agent's steps for a turn (default: work a little, then go idle). */
  script?: (thread: SandboxThread, text: string) => AgentStep[]
  /** Answer every request with this status (e.g. 500), or per path. */
  fault?: { status: number; path?: string } | null
  /** Answer every request with a 307 to this address. */
  redirectTo?: string | null
  /** Pad the snapshot with this many bytes (a server with a huge history). */
  snapshotPadding?: number
  /** Listen on this port (default: any free port). */
  port?: number
  /** Delay every answer by this many ms (the benchmark's network). */
  latencyMs?: number
  /** After the k-th applied command, call `kill` and never answer (a crash mid-dispatch). */
  killAfterCommands?: { k: number; kill: () => void }
}

export interface T3Sandbox {
  url: string
  generation: T3Generation
  threads: Map<string, SandboxThread>
  projects: SandboxProject[]
  /** Requests by kind: `snapshot`, `shell`, or the command type (every request, decoded or not). */
  counts: Record<string, number>
  /** Every dispatch body received, in order, with its answer's status. */
  received: { body: unknown; status: number }[]
  /** The receipt table: command id → accepted (with its sequence) or rejected. */
  receipts: Map<string, { accepted: true; sequence: number } | { accepted: false; detail: string }>
  options: T3SandboxOptions
  /** Every running thread takes one step; sessions of newly accepted turns start first. */
  advance(): Promise<void>
  /** Seed a thread with a running turn, as if dispatched (benchmarks seed thousands). */
  addThread(thread: { id: string; projectId: string; title: string; steps: AgentStep[] }): void
  close(): Promise<void>
}

/** The model the sandbox's projects default to. */
export const SANDBOX_MODEL: SandboxModel = {
  provider: 'codex',
  instanceId: 'codex',
  model: 'gpt-5-codex'
}

/** A project for a repository, as `t3 project add` would register it. */
export function projectFor(
  fullName: string,
  id = `proj-${fullName.replace('/', '-')}`,
  defaultModelSelection: SandboxModel | null = SANDBOX_MODEL
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
    defaultModelSelection,
    deletedAt: null
  }
}

/** A rejection by the engine (recorded in the receipt table). */
class Rejected extends Error {}

export async function startT3Sandbox(options: T3SandboxOptions): Promise<T3Sandbox> {
  const generation = options.generation ?? 'v0.0.32'
  const traits = GENERATION[generation]
  const schema = commandSchema(generation)
  const threads = new Map<string, SandboxThread>()
  const projects = options.projects ?? []
  const counts: Record<string, number> = {}
  const received: T3Sandbox['received'] = []
  const receipts: T3Sandbox['receipts'] = new Map()
  let sequence = 0
  let applied = 0
  const now = () => new Date().toISOString()
  const count = (kind: string) => (counts[kind] = (counts[kind] ?? 0) + 1)

  const sandbox: T3Sandbox = {
    url: '',
    generation,
    threads,
    projects,
    counts,
    received,
    receipts,
    options,
    async advance() {
      for (const thread of threads.values()) {
        if (thread.pendingTurn) startSession(thread)
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
        modelSelection: modelOut(SANDBOX_MODEL),
        latestTurn: { turnId, state: 'running', requestedAt: now() },
        pendingTurn: null,
        session: { threadId: id, status: 'running', activeTurnId: turnId, lastError: null },
        messages: [],
        deletedAt: null,
        steps: [...steps],
        stalled: false
      })
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }

  /** The provider session reports running: only now does the turn show as `latestTurn`. */
  function startSession(thread: SandboxThread): void {
    const pending = thread.pendingTurn
    if (!pending) return
    thread.pendingTurn = null
    thread.latestTurn = {
      turnId: pending.turnId,
      state: 'running',
      requestedAt: pending.requestedAt
    }
    thread.session = {
      threadId: thread.id,
      status: 'running',
      activeTurnId: pending.turnId,
      lastError: null
    }
    thread.steps = [...(options.script?.(thread, pending.text) ?? ['run', 'idle'])]
    thread.stalled = false
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

  /** A model in this generation's wire form. */
  function modelOut(model: SandboxModel): Record<string, string> {
    return traits.model === 'provider'
      ? { provider: model.provider, model: model.model }
      : { instanceId: model.instanceId, model: model.model }
  }

  /** The engine: invariants, then the change. Throws {@link Rejected}. */
  function apply(command: T3Command): void {
    const thread = 'threadId' in command ? threads.get(command.threadId) : undefined
    switch (command.type) {
      case 'project.create': {
        if (projects.some((p) => p.id === command.projectId && !p.deletedAt))
          throw new Rejected(`Project '${command.projectId}' already exists`)
        const model = command.defaultModelSelection as
          { provider?: string; instanceId?: string; model: string } | null | undefined
        projects.push({
          id: command.projectId,
          title: command.title,
          workspaceRoot: command.workspaceRoot,
          repositoryIdentity: null,
          defaultModelSelection: model
            ? {
                provider: model.provider === 'claudeAgent' ? 'claudeAgent' : 'codex',
                instanceId: model.instanceId ?? model.provider ?? 'codex',
                model: model.model
              }
            : null,
          deletedAt: null
        })
        return
      }
      case 'thread.create': {
        if (thread) throw new Rejected(`Thread '${command.threadId}' already exists`)
        if (!projects.some((p) => p.id === command.projectId && !p.deletedAt))
          throw new Rejected(`Project '${command.projectId}' does not exist`)
        threads.set(command.threadId, {
          id: command.threadId,
          projectId: command.projectId,
          title: command.title,
          runtimeMode: command.runtimeMode,
          modelSelection: command.modelSelection,
          latestTurn: null,
          pendingTurn: null,
          session: null,
          messages: [],
          deletedAt: null,
          steps: [],
          stalled: false
        })
        return
      }
      case 'thread.turn.start': {
        if (!thread || thread.deletedAt)
          throw new Rejected(`Thread '${command.threadId}' does not exist`)
        if (command.bootstrap !== undefined)
          throw new Rejected('thread.turn.start bootstrap is only honoured over the WebSocket')
        const turnId = `turn-${sequence + 1}`
        thread.messages.push({
          messageId: command.message.messageId,
          role: 'user',
          text: command.message.text
        })
        thread.pendingTurn = { turnId, requestedAt: command.createdAt, text: command.message.text }
        thread.session = {
          threadId: thread.id,
          status: 'starting',
          activeTurnId: null,
          lastError: null
        }
        return
      }
      case 'thread.turn.interrupt':
      case 'thread.session.stop': {
        if (!thread || thread.deletedAt)
          throw new Rejected(`Thread '${command.threadId}' does not exist`)
        if (thread.pendingTurn) {
          thread.pendingTurn = null
          thread.session = {
            threadId: thread.id,
            status: 'interrupted',
            activeTurnId: null,
            lastError: null
          }
        }
        if (thread.latestTurn?.state === 'running') finishTurn(thread, 'interrupted')
        return
      }
    }
  }

  type Answer = { status: number; body: unknown }
  const traceId = () => randomUUID()
  const EMPTY = Symbol('empty body')

  function undecodable(): Answer {
    return traits.http === 'legacy'
      ? { status: 400, body: { error: 'Invalid orchestration command payload.' } }
      : { status: 400, body: EMPTY }
  }
  function dispatchFailed(): Answer {
    return traits.http === 'legacy'
      ? { status: 400, body: { error: 'Failed to dispatch orchestration command.' } }
      : {
          status: 500,
          body: {
            _tag: 'EnvironmentInternalError',
            code: 'internal_error',
            reason: 'orchestration_dispatch_failed',
            traceId: traceId()
          }
        }
  }

  function dispatch(raw: unknown): Answer {
    const type = (raw as { type?: unknown } | null)?.type
    count(typeof type === 'string' ? type : 'unknown')
    const decoded = schema.safeParse(raw)
    if (!decoded.success) return undecodable()
    const command = decoded.data
    const receipt = receipts.get(command.commandId)
    if (receipt?.accepted) return { status: 200, body: { sequence: receipt.sequence } }
    if (receipt) return dispatchFailed()
    try {
      apply(command)
    } catch (error) {
      if (!(error instanceof Rejected)) throw error
      receipts.set(command.commandId, { accepted: false, detail: error.message })
      return dispatchFailed()
    }
    receipts.set(command.commandId, { accepted: true, sequence: ++sequence })
    return { status: 200, body: { sequence } }
  }

  function projectOut(p: SandboxProject, withIdentity: boolean): Record<string, unknown> {
    return {
      id: p.id,
      title: p.title,
      workspaceRoot: p.workspaceRoot,
      ...(withIdentity ? { repositoryIdentity: p.repositoryIdentity } : {}),
      defaultModelSelection: p.defaultModelSelection ? modelOut(p.defaultModelSelection) : null,
      scripts: [],
      createdAt: now(),
      updatedAt: now(),
      deletedAt: p.deletedAt
    }
  }

  function threadOut(t: SandboxThread, full: boolean): Record<string, unknown> {
    return {
      id: t.id,
      projectId: t.projectId,
      title: t.title,
      modelSelection: t.modelSelection,
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
      createdAt: now(),
      updatedAt: now(),
      archivedAt: null,
      deletedAt: t.deletedAt,
      ...(full
        ? {
            messages: traits.identityInSnapshot
              ? t.messages.map((m) => ({
                  id: m.messageId,
                  role: m.role,
                  text: m.text,
                  turnId: null,
                  streaming: false,
                  createdAt: now(),
                  updatedAt: now()
                }))
              : [],
            activities: [],
            checkpoints: [],
            proposedPlans: []
          }
        : {})
    }
  }

  function snapshot(): string {
    const body = JSON.stringify({
      snapshotSequence: sequence,
      updatedAt: now(),
      projects: projects.map((p) => projectOut(p, traits.identityInSnapshot)),
      threads: [...threads.values()].map((t) => threadOut(t, true))
    })
    const pad = options.snapshotPadding ?? 0
    return pad > 0 ? `${body.slice(0, -1)},"padding":"${'x'.repeat(pad)}"}` : body
  }

  function shell(): string {
    return JSON.stringify({
      snapshotSequence: sequence,
      updatedAt: now(),
      projects: projects.filter((p) => !p.deletedAt).map((p) => projectOut(p, true)),
      threads: [...threads.values()].filter((t) => !t.deletedAt).map((t) => threadOut(t, false))
    })
  }

  const send = (res: ServerResponse, answer: Answer): void => {
    if (answer.body === EMPTY) {
      res.writeHead(answer.status).end()
      return
    }
    res
      .writeHead(answer.status, { 'content-type': 'application/json' })
      .end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body))
  }

  /** Who the bearer is: the owner, a limited session, or nobody. */
  function authenticate(req: IncomingMessage): 'owner' | 'limited' | null {
    const header = req.headers.authorization ?? ''
    const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : null
    if (token === null) return null
    if (token === options.token) return 'owner'
    return options.limitedTokens?.includes(token) ? 'limited' : null
  }

  function unauthenticated(): Answer {
    return traits.http === 'legacy'
      ? { status: 500, body: EMPTY }
      : {
          status: 401,
          body: {
            _tag: 'EnvironmentAuthInvalidError',
            code: 'auth_invalid',
            reason: 'invalid_credential',
            traceId: traceId()
          }
        }
  }

  function notOwner(): Answer {
    return traits.http === 'legacy'
      ? { status: 400, body: { error: 'Only owner sessions can dispatch orchestration commands.' } }
      : {
          status: 403,
          body: {
            _tag: 'EnvironmentScopeRequiredError',
            code: 'insufficient_scope',
            requiredScope: 'orchestration:operate',
            traceId: traceId()
          }
        }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const path = new URL(req.url ?? '/', 'http://t3').pathname
    if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs))
    if (options.redirectTo) {
      res.writeHead(307, { location: `${options.redirectTo}${path}` }).end()
      return
    }
    const who = authenticate(req)
    if (!who) return send(res, unauthenticated())
    const fault = options.fault
    if (fault && (!fault.path || fault.path === path))
      return send(res, { status: fault.status, body: { error: `sandbox fault ${fault.status}` } })
    if (req.method === 'GET' && path === '/api/orchestration/snapshot') {
      count('snapshot')
      return send(res, { status: 200, body: snapshot() })
    }
    if (req.method === 'GET' && path === '/api/orchestration/shell' && traits.shell) {
      count('shell')
      return send(res, { status: 200, body: shell() })
    }
    if (req.method === 'POST' && path === '/api/orchestration/dispatch') {
      if (who !== 'owner') return send(res, notOwner())
      let body: unknown
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        return send(res, undecodable())
      }
      const result = dispatch(body)
      received.push({ body, status: result.status })
      const kill = options.killAfterCommands
      if (result.status === 200 && kill && ++applied === kill.k) {
        kill.kill()
        res.socket?.destroy()
        return
      }
      return send(res, result)
    }
    return send(res, { status: 404, body: EMPTY })
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => send(res, { status: 500, body: EMPTY }))
  })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  sandbox.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return sandbox
}
