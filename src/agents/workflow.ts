/**
 * The agent-workflow backend: no server to run. A dispatch starts the
 * `agent-workflow` in the issue's own repository (`workflow_dispatch` with
 * inputs `issue`, `prompt`, `run_key`); the workflow run is the "thread",
 * its id the thread id and its page the agent link.
 *
 * - Status from the run by {@link workflowRunStatus}; a tick reads all runs of
 *   a repository with one list call, and only runs that fell off that page
 *   one by one.
 * - The sweep of orphaned agents: the same list call, made for every
 *   readable allowlisted repository (not only those with runs in flight),
 *   names the loop's own running runs (`afk <attempt key>`). One list per
 *   repository per tick; the newest 100 runs of the workflow are seen. A
 *   repository whose list fails only drops out of the sweep this tick.
 * - Exactly once: the example workflow names its run `afk <run_key>`, so a
 *   dispatch whose answer was lost is found by name before dispatching again
 *   (also the fallback when GitHub answers 204 without run details).
 * - GitHub Enterprise Server: a server that predates `return_run_details`
 *   (GHES 3.19 and older) refuses a dispatch carrying it with 400/422 naming
 *   the key. The dispatch is then sent again without it — nothing was
 *   started by the refused one — and the run found by its name; the adapter
 *   remembers the refusal and stops asking for the rest of the tick.
 * - `workflow_dispatch` inputs are limited to 65,535 characters in all: a
 *   longer prompt is cut, with a note (never "read the issue yourself": the
 *   raw issue holds the hidden text the prompt builder removed).
 */
import type { RepoRef } from '../config.js'
import { parseAttemptKey } from '../core/orphans.js'
import { UNTRUSTED_TAG } from '../core/prompts.js'
import type { ThreadStatus } from '../core/types.js'
import type {
  AgentPort,
  AgentSnapshot,
  DispatchRequest,
  DispatchedThread,
  RunningThread,
  ThreadQuery
} from '../loop/ports.js'
import type { GitHubClients } from '../github/client.js'
import { asPermissionError } from '../github/errors.js'
import type { AgentCheck } from '../core/check.js'
import { agentWorkflowProblems } from './workflow-file.js'

/** GitHub's limit on the total length of workflow_dispatch input values. */
export const DISPATCH_INPUTS_LIMIT = 65_535
/** Room kept for the other inputs and the note. */
const PROMPT_ROOM = DISPATCH_INPUTS_LIMIT - 1_000

const RUNNING = new Set(['queued', 'in_progress', 'waiting', 'requested', 'pending'])
const IDLE = new Set(['success', 'neutral', 'skipped'])
const ERROR = new Set([
  'failure',
  'cancelled',
  'timed_out',
  'action_required',
  'startup_failure',
  'stale'
])

/** A workflow run's status for the loop; anything unrecognised is null. */
export function workflowRunStatus(
  status: string | null,
  conclusion: string | null
): ThreadStatus | null {
  if (status && RUNNING.has(status)) return 'running'
  if (status !== 'completed') return null
  if (conclusion && IDLE.has(conclusion)) return 'idle'
  if (conclusion && ERROR.has(conclusion)) return 'error'
  return null
}

/**
 * The prompt cut to fit the dispatch inputs, with a note when it was. The
 * prompt builder already bounds the issue text well below the limit, so only
 * an outsized template gets here; the note never sends the agent to read the
 * raw issue (whose hidden text the prompt builder removed).
 */
export function fitPrompt(prompt: string): string {
  if (prompt.length <= PROMPT_ROOM) return prompt
  const note = `\n\n[afk-loop: this prompt was cut to fit GitHub's workflow_dispatch input limit.]`
  // The untrusted block comes last and is bounded (the issue text is cut at
  // BODY_LIMIT inside it): keep it whole, opening to closing line, and cut
  // the instructions before it, so the block is never left open.
  const open = prompt.lastIndexOf(`\n<${UNTRUSTED_TAG} `)
  const blockStart = open > 0 ? prompt.lastIndexOf('\n', open - 1) + 1 : -1
  if (blockStart > 0) {
    const block = prompt.slice(blockStart)
    const room = PROMPT_ROOM - note.length - 2 - block.length
    if (room > 0) return `${prompt.slice(0, room)}${note}\n\n${block}`
  }
  return prompt.slice(0, PROMPT_ROOM - note.length) + note
}

/** The run-name the agent workflow gives a dispatch's run (`run-name: afk ${{ inputs.run_key }}`). */
export function runName(key: string): string {
  return `afk ${key}`
}

interface RunJson {
  id: number
  name?: string | null
  display_title?: string | null
  status: string | null
  conclusion: string | null
  html_url: string
  /** The workflow file the run belongs to (`.github/workflows/afk-agent.yml`). */
  path?: string | null
  workflow_id?: number | null
}

export interface WorkflowAgentOptions {
  clients: GitHubClients
  /** File name (e.g. afk-agent.yml) or id. */
  workflowFile: string
  /** Ref to dispatch on; null = the repository's default branch. */
  ref: string | null
  /** How long to look for a run GitHub didn't describe (204) before giving up this tick. */
  findRetries?: number
  findDelayMs?: number
}

export function createWorkflowAgent(options: WorkflowAgentOptions): AgentPort {
  const { reader, writer } = options.clients
  const file = options.workflowFile
  const defaultBranches = new Map<string, string>()
  /** Ask GitHub for the run's details until a server refuses the key (older GHES). */
  let runDetails = true

  const where = (repo: RepoRef) => `workflow ${file} in ${repo.fullName}`
  const explain = (repo: RepoRef, error: unknown): Error => {
    const status = (error as { status?: number }).status
    const message = String((error as { message?: unknown } | null)?.message ?? error)
    if (status === 401 || status === 403) {
      const denied = asPermissionError(error, 'actions: write', `run ${where(repo)}`)
      if (denied) return denied
    }
    const network = networkCause(error)
    if (network) return new Error(`GitHub is unreachable (${network}) while using ${where(repo)}`)
    if (status === 404)
      return new Error(`${where(repo)} not found (agent-workflow input), or the token can't see it`)
    if (status === 403)
      return new Error(`the token may not run ${where(repo)}: it needs actions: write`)
    if (status === 422)
      return new Error(
        `GitHub refused to dispatch ${where(repo)}: ${(error as Error).message} (does it declare the inputs issue, prompt and run_key?)`
      )
    return new Error(`${where(repo)}: ${message}`)
  }

  async function listRuns(repo: RepoRef): Promise<RunJson[]> {
    const res = await reader.request(
      'GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs',
      {
        owner: repo.owner,
        repo: repo.name,
        workflow_id: file,
        per_page: 100
      }
    )
    return res.data.workflow_runs as RunJson[]
  }

  async function findByKey(repo: RepoRef, key: string): Promise<DispatchedThread | null> {
    // Exactly the run-name: a run whose name merely contains the key (another
    // workflow's `afk <key> please cancel me`) is not this dispatch's.
    const want = runName(key)
    const run = (await listRuns(repo)).find((r) => r.display_title === want || r.name === want)
    return run ? { threadId: String(run.id), url: run.html_url } : null
  }

  async function defaultBranch(repo: RepoRef): Promise<string> {
    const known = defaultBranches.get(repo.key)
    if (known) return known
    const res = await reader.request('GET /repos/{owner}/{repo}', {
      owner: repo.owner,
      repo: repo.name
    })
    defaultBranches.set(repo.key, res.data.default_branch)
    return res.data.default_branch
  }

  return {
    listsRunning: true,
    async snapshot(
      threads: readonly ThreadQuery[],
      sweep: readonly RepoRef[] = []
    ): Promise<AgentSnapshot> {
      const statuses = new Map<string, ThreadStatus | null>()
      const errors: string[] = []
      const running: RunningThread[] = []
      const byRepo = new Map<string, { repo: RepoRef; ids: Set<string> }>()
      for (const t of threads) {
        const entry = byRepo.get(t.repo.key) ?? { repo: t.repo, ids: new Set<string>() }
        entry.ids.add(t.threadId)
        byRepo.set(t.repo.key, entry)
      }
      for (const repo of sweep) {
        if (!byRepo.has(repo.key)) byRepo.set(repo.key, { repo, ids: new Set<string>() })
      }
      for (const { repo, ids } of byRepo.values()) {
        let runs: RunJson[]
        try {
          runs = await listRuns(repo)
        } catch (error) {
          // Only runs in flight make a failed list the tick's error; a
          // repository listed for the sweep alone just isn't swept.
          if (ids.size > 0) errors.push(explain(repo, error).message)
          continue
        }
        for (const run of runs) {
          const key = keyOf(run)
          if (key && workflowRunStatus(run.status, run.conclusion) === 'running') {
            running.push({ threadId: String(run.id), key, repo })
          }
        }
        try {
          for (const run of runs) {
            if (ids.has(String(run.id)))
              statuses.set(String(run.id), workflowRunStatus(run.status, run.conclusion))
          }
          for (const id of ids) {
            if (statuses.has(id) || !/^\d+$/.test(id)) continue
            try {
              const res = await reader.request('GET /repos/{owner}/{repo}/actions/runs/{run_id}', {
                owner: repo.owner,
                repo: repo.name,
                run_id: Number(id)
              })
              statuses.set(id, workflowRunStatus(res.data.status, res.data.conclusion))
            } catch (error) {
              // A deleted run is unknown, not an error: the loop waits.
              if ((error as { status?: number }).status !== 404) throw error
            }
          }
        } catch (error) {
          errors.push(explain(repo, error).message)
        }
      }
      return {
        error: errors.length ? errors.join('; ') : null,
        status: (id) => statuses.get(id) ?? null,
        running: () => running
      }
    },

    async dispatch(request: DispatchRequest): Promise<DispatchedThread> {
      const repo = request.repo
      try {
        const existing = await findByKey(repo, request.key)
        if (existing) return existing
        const ref = options.ref ?? (await defaultBranch(repo))
        const send = (withDetails: boolean) =>
          writer.request('POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches', {
            owner: repo.owner,
            repo: repo.name,
            workflow_id: file,
            ref,
            inputs: {
              issue: String(request.issue),
              prompt: fitPrompt(request.prompt),
              run_key: request.key
            },
            ...(withDetails ? { return_run_details: true } : {})
          } as never)
        let res: Awaited<ReturnType<typeof send>>
        try {
          res = await send(runDetails)
        } catch (error) {
          if (!runDetails || !refusesRunDetails(error)) throw error
          runDetails = false
          res = await send(false)
        }
        const details = (
          res as { status: number; data?: { workflow_run_id?: number; html_url?: string } }
        ).data
        if (res.status === 200 && details?.workflow_run_id) {
          return { threadId: String(details.workflow_run_id), url: details.html_url ?? null }
        }
        // 204: GitHub didn't say which run it started; find it by its name.
        for (let i = 0; i < (options.findRetries ?? 3); i++) {
          const found = await findByKey(repo, request.key)
          if (found) return found
          await new Promise((r) => setTimeout(r, options.findDelayMs ?? 2000))
        }
        throw new Error(
          `dispatched, but no run named 'afk ${request.key}' appeared yet (does the workflow set run-name: afk \${{ inputs.run_key }}?)`
        )
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

    async check(repos: readonly RepoRef[]): Promise<AgentCheck> {
      const results: AgentCheck['repos'] = []
      for (const repo of repos) {
        try {
          const workflow = await reader.request(
            'GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}',
            { owner: repo.owner, repo: repo.name, workflow_id: file }
          )
          if (workflow.data.state !== 'active') {
            results.push({
              repo: repo.fullName,
              ok: false,
              detail: `${file} is ${workflow.data.state}: enable it on the repository's Actions tab.`
            })
            continue
          }
          const ref = options.ref ?? (await defaultBranch(repo))
          const content = await reader.request('GET /repos/{owner}/{repo}/contents/{path}', {
            owner: repo.owner,
            repo: repo.name,
            path: workflow.data.path,
            ref
          })
          const encoded = (content.data as { content?: string }).content ?? ''
          const problems = agentWorkflowProblems(Buffer.from(encoded, 'base64').toString('utf8'))
          results.push(
            problems.length === 0
              ? {
                  repo: repo.fullName,
                  ok: true,
                  detail: `${workflow.data.path} on ${ref} takes issue, prompt and run_key and names its run \`afk <run_key>\`.`
                }
              : {
                  repo: repo.fullName,
                  ok: false,
                  detail: `${workflow.data.path} on ${ref}: ${problems.join('; ')}.`
                }
          )
        } catch (error) {
          const status = (error as { status?: number }).status
          results.push({
            repo: repo.fullName,
            ok: false,
            detail:
              status === 404
                ? `${where(repo)} not found on its ref: add it (examples/afk-agent.yml), or set agent-workflow to its file name.`
                : `${explain(repo, error).message}.`
          })
        }
      }
      return {
        backend: `agent workflow ${file}`,
        reach: {
          ok: true,
          detail: 'runs on GitHub Actions in each repository: no server to reach.'
        },
        repos: results
      }
    },

    async interrupt(query: ThreadQuery): Promise<boolean> {
      if (!/^\d+$/.test(query.threadId)) return false
      try {
        // Only a run this loop dispatched is stopped: it must be a run of the
        // agent workflow, named exactly `afk <key>`. Any other run (a deploy,
        // another workflow's run given the same name) is left alone.
        const res = await reader.request('GET /repos/{owner}/{repo}/actions/runs/{run_id}', {
          owner: query.repo.owner,
          repo: query.repo.name,
          run_id: Number(query.threadId)
        })
        const run = res.data as RunJson
        const want = query.key ? runName(query.key) : null
        if (want === null || (run.display_title !== want && run.name !== want)) return false
        if (!ofAgentWorkflow(run, file)) return false
        await writer.request('POST /repos/{owner}/{repo}/actions/runs/{run_id}/cancel', {
          owner: query.repo.owner,
          repo: query.repo.name,
          run_id: Number(query.threadId)
        })
        return true
      } catch (error) {
        // 409: the run already finished; 404: it is gone. Nothing to stop.
        const status = (error as { status?: number }).status
        if (status !== 409 && status !== 404) throw explain(query.repo, error)
        return false
      }
    }
  }
}

/** The attempt key of a run the loop dispatched (named exactly `afk <key>`), or null. */
function keyOf(run: RunJson): string | null {
  for (const name of [run.display_title, run.name]) {
    const key = name?.startsWith('afk ') ? name.slice(4) : null
    if (key && parseAttemptKey(key)) return key
  }
  return null
}

/**
 * Whether a run belongs to the agent workflow (`agent-workflow`: a file name
 * or a workflow id): by the run's `workflow_id` for an id, by its `path`
 * (`.github/workflows/<file>`, any `@ref` suffix dropped) for a file name.
 * A run that says neither is not proven the agent's.
 */
export function ofAgentWorkflow(
  run: { path?: string | null; workflow_id?: number | null },
  file: string
): boolean {
  if (/^\d+$/.test(file)) return run.workflow_id !== undefined && String(run.workflow_id) === file
  const path = (run.path ?? '').replace(/@.*$/, '')
  return path === `.github/workflows/${file}`
}

/** A 400/422 that names `return_run_details`: a server that doesn't know the key. */
export function refusesRunDetails(error: unknown): boolean {
  const e = error as { status?: number; message?: unknown } | null
  return (
    (e?.status === 400 || e?.status === 422) &&
    typeof e.message === 'string' &&
    e.message.includes('return_run_details')
  )
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
