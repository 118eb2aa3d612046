/**
 * A whole world for end-to-end runs of the real bundle: a loopback GitHub, a
 * loopback T3 Code server whose scripted agents push to that GitHub, and a
 * loopback webhook receiver for the doorbell. Used by the end-to-end tests,
 * `npm run demo` and `npm run bench`.
 *
 * Agents are planned per issue and per attempt, in the words of the story:
 * `run` (keep working), `push:<ci>` (push a commit whose CI will be green,
 * red, pending, missing or blocked — on `afk/issue-N` with a pull request
 * that closes the issue, or on the default branch with `#N`), `idle`,
 * `error`, `stall`.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { GitHubStore, type SandboxRepo, type SandboxWorkflowRun } from './github/store.js'
import { startGitHubSandbox, type GitHubSandbox, type SandboxOptions } from './github/server.js'
import { AgentTasks, type SandboxTask } from './github/agent-tasks.js'
import {
  projectFor,
  startT3Sandbox,
  type AgentStep,
  type SandboxThread,
  type T3Sandbox,
  type T3SandboxOptions
} from './t3/server.js'

export type CI = 'green' | 'red' | 'pending' | 'missing' | 'blocked'
export type PlanStep = 'run' | 'idle' | 'error' | 'stall' | `push:${CI}`

export const LOOP_TOKEN = 'ghs_sandbox_loop_token'
export const T3_TOKEN = 't3_sandbox_token'
export const LOOP_LOGIN = 'afk-loop'
export const AGENT_LOGIN = 'afk-agent'
/** The user token the Copilot backend starts tasks with (a fine-grained PAT). */
export const COPILOT_TOKEN = 'github_pat_sandbox_copilot_user'

export interface Doorbell {
  headers: IncomingHttpHeaders
  body: { kind: string; repo: string; issue: number; key: string; reason: string }
}

export interface World {
  store: GitHubStore
  github: GitHubSandbox
  t3: T3Sandbox
  doorbells: Doorbell[]
  hookUrl: string
  /** Plans by `owner/repo#N`: one list of steps per attempt. */
  plans: Map<string, PlanStep[][]>
  delivery: 'pull-request' | 'trunk'
  agent: 't3' | 'workflow' | 'copilot'
  /** The agent tasks API (Copilot cloud agent) of the loopback GitHub. */
  agentTasks: AgentTasks
  /** Every agent at work takes one step: T3 threads and agent workflow runs alike. */
  advance(): Promise<void>
  /** Add an issue with its agent's plan. */
  addIssue(
    repo: string,
    title: string,
    plan: PlanStep[][],
    options?: { author?: string; association?: string; labels?: string[] }
  ): number
  /** What a scripted agent does on `push:<ci>`: a commit (and its pull request) with this CI. */
  push(repo: string, issue: number, ci: CI): void
  /** Merge the run's pull request (auto-merge, a quick review): its "Closes #N" closes the issue. */
  merge(repo: string, issue: number, by?: string): void
  /**
   * Someone opens a pull request from a fork that says it closes the issue:
   * any branch name (the run's own, by default), any author and association.
   */
  forkPullRequest(
    repo: string,
    issue: number,
    options?: { fork?: string; branch?: string; author?: string; association?: string; ci?: CI }
  ): number
  /** The environment a runner gives the action, pointing at this world. */
  env(): Record<string, string>
  /** Inputs for the action in this world, with overrides. */
  inputs(overrides?: Record<string, string>): Record<string, string>
  close(): Promise<void>
}

export interface WorldOptions {
  repos: string[]
  delivery?: 'pull-request' | 'trunk'
  /**
   * What GitHub does with a scripted agent's push: `auto-merge` merges its
   * pull request at once (before any tick sees CI), closing the issue through
   * "Closes #N"; `auto-squash` squash-merges it, and GitHub names the squash
   * commit (whose message carries "Closes #N") as the closer; `fixes` writes
   * "Fixes #N" in trunk commits, which closes the issue on push.
   */
  onPush?: 'auto-merge' | 'auto-squash' | 'fixes'
  /** Which backend the scripted agents stand behind (default: a T3 Code server). */
  agent?: 't3' | 'workflow' | 'copilot'
  github?: Omit<SandboxOptions, 'store'>
  t3?: Pick<
    T3SandboxOptions,
    | 'killAfterCommands'
    | 'fault'
    | 'latencyMs'
    | 'port'
    | 'generation'
    | 'projects'
    | 'limitedTokens'
    | 'redirectTo'
    | 'snapshotPadding'
  >
  /** The doorbell receiver's port (default: any free port). */
  doorbellPort?: number
  /** After the k-th doorbell has been received, call `kill` and never answer. */
  killAfterDoorbells?: { k: number; kill: () => void }
}

/** The issue a T3 thread works on, from its title (`owner/repo#N: …`). */
function issueOf(thread: SandboxThread): { repo: string; issue: number } | null {
  const match = /^([^#\s]+)#(\d+):/.exec(thread.title)
  return match ? { repo: match[1] ?? '', issue: Number(match[2]) } : null
}

export async function startWorld(options: WorldOptions): Promise<World> {
  const store = new GitHubStore()
  store.addToken(LOOP_TOKEN, LOOP_LOGIN, { bot: true })
  store.addToken('ghs_sandbox_human', 'maintainer')
  store.addToken(COPILOT_TOKEN, 'maintainer')
  for (const repo of options.repos) store.addRepo(repo, { workflows: ['afk-agent.yml'] })
  const delivery = options.delivery ?? 'pull-request'
  const plans = new Map<string, PlanStep[][]>()
  const attempts = new Map<string, number>()

  const push = (repo: string, issue: number, ci: CI) => {
    if (delivery === 'trunk') {
      const branch = store.repo(repo).defaultBranch
      const message =
        options.onPush === 'fixes'
          ? `Fix the issue\n\nFixes #${issue}`
          : `Fix the issue (#${issue})`
      // CI is known before the push lands: a closing keyword closes the issue on push.
      const commit = store.commit(repo, branch, message, AGENT_LOGIN)
      store.setCI(repo, commit.oid, ci)
      return
    }
    const branch = `afk/issue-${issue}`
    const commit = store.commit(repo, branch, `Work on #${issue}`, AGENT_LOGIN)
    store.setCI(repo, commit.oid, ci)
    // The agent's own pull request: a fork's from a branch of the same name is not it.
    const ownOpen = (p: { headRefName: string; state: string; isCrossRepository: boolean }) =>
      p.headRefName === branch && p.state === 'OPEN' && !p.isCrossRepository
    const open = store.repo(repo).pulls.some(ownOpen)
    const pull = open
      ? null
      : store.openPullRequest(repo, {
          head: branch,
          author: AGENT_LOGIN,
          closes: [issue],
          title: `Fix #${issue}`
        })
    if (options.onPush === 'auto-merge' || options.onPush === 'auto-squash') {
      const number = pull?.number ?? store.repo(repo).pulls.find(ownOpen)?.number
      const method = options.onPush === 'auto-squash' ? 'squash' : 'merge'
      if (number !== undefined) store.mergePullRequest(repo, number, AGENT_LOGIN, method)
    }
  }

  /** The next attempt's steps for an issue, from its plan. */
  type Step = Exclude<AgentStep, { do: unknown }> | { do: () => void }
  const nextSteps = (repo: string, issue: number): Step[] => {
    const key = `${repo}#${issue}`.toLowerCase()
    const attempt = attempts.get(key) ?? 0
    attempts.set(key, attempt + 1)
    const plan = plans.get(key) ?? [['run', 'push:green', 'idle']]
    const steps = plan[attempt] ?? plan[plan.length - 1] ?? []
    return steps.map((step): Step => {
      if (step.startsWith('push:')) {
        const ci = step.slice(5) as CI
        return { do: () => push(repo, issue, ci) }
      }
      return step as Step
    })
  }

  const script = (thread: SandboxThread): AgentStep[] => {
    const which = issueOf(thread)
    return which ? nextSteps(which.repo, which.issue) : ['run', 'idle']
  }

  // The agent workflow: a dispatched run is queued, then works through its steps.
  const workflowSteps = new Map<SandboxWorkflowRun, Step[]>()
  const onWorkflowDispatch = (repo: SandboxRepo, run: SandboxWorkflowRun) => {
    workflowSteps.set(run, nextSteps(`${repo.owner}/${repo.name}`, Number(run.inputs.issue)))
  }
  const advanceWorkflows = async () => {
    for (const [run, steps] of workflowSteps) {
      if (run.status === 'completed') continue
      run.updatedAt = store.now()
      if (run.status === 'queued') {
        run.status = 'in_progress'
        continue
      }
      const step = steps.shift() ?? 'idle'
      if (step === 'stall') steps.unshift(step) // stalls for good
      if (step === 'run' || step === 'stall') continue
      if (typeof step === 'object') {
        step.do()
        continue
      }
      run.status = 'completed'
      run.conclusion = step === 'error' ? 'failure' : 'success'
    }
  }

  // Copilot tasks: a started task is queued, then works through its steps on
  // the branch its prompt names (`afk/issue-N`), like the agent workflow.
  const taskSteps = new Map<SandboxTask, { repo: string; steps: Step[] }>()
  const onTaskCreated = (task: SandboxTask) => {
    const issue = /afk\/issue-(\d+)/.exec(task.sessions[0]?.prompt ?? '')?.[1]
    taskSteps.set(task, {
      repo: task.repo,
      steps: issue ? nextSteps(task.repo, Number(issue)) : ['run', 'idle']
    })
  }
  const agentTasks = new AgentTasks(store, { onTaskCreated })
  const advanceTasks = async () => {
    for (const [task, { steps }] of taskSteps) {
      if (!['queued', 'in_progress'].includes(task.state)) continue
      if (task.state === 'queued') {
        agentTasks.setState(task.id, 'in_progress')
        continue
      }
      const step = steps.shift() ?? 'idle'
      if (step === 'stall') steps.unshift(step)
      if (step === 'run' || step === 'stall') continue
      if (typeof step === 'object') {
        step.do()
        continue
      }
      agentTasks.setState(task.id, step === 'error' ? 'failed' : 'completed')
    }
  }

  const github = await startGitHubSandbox({
    store,
    onWorkflowDispatch,
    agentTasks,
    ...options.github
  })
  const t3 = await startT3Sandbox({
    token: T3_TOKEN,
    projects: options.repos.map((r) => projectFor(r)),
    script,
    ...options.t3
  })

  const doorbells: Doorbell[] = []
  const hook: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      doorbells.push({
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Doorbell['body']
      })
      const kill = options.killAfterDoorbells
      if (kill && doorbells.length === kill.k) {
        kill.kill()
        res.socket?.destroy()
        return
      }
      res.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => hook.listen(options.doorbellPort ?? 0, '127.0.0.1', resolve))
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/doorbell`

  return {
    store,
    github,
    t3,
    doorbells,
    hookUrl,
    plans,
    delivery,
    agent: options.agent ?? 't3',
    agentTasks,
    async advance() {
      await t3.advance()
      await advanceWorkflows()
      await advanceTasks()
    },
    push,
    merge(repo, issue, by = 'maintainer') {
      const pull = store
        .repo(repo)
        .pulls.find(
          (p) =>
            p.headRefName === `afk/issue-${issue}` && p.state === 'OPEN' && !p.isCrossRepository
        )
      if (!pull) throw new Error(`sandbox: no open pull request for ${repo}#${issue}`)
      store.mergePullRequest(repo, pull.number, by)
    },
    forkPullRequest(repo, issue, opts = {}) {
      const author = opts.author ?? 'drive-by'
      const fork = opts.fork ?? `${author}/${repo.split('/')[1] ?? 'fork'}`
      const branch = opts.branch ?? `afk/issue-${issue}`
      const pull = store.openPullRequest(repo, {
        head: branch,
        author,
        closes: [issue],
        title: `Fix #${issue}`,
        headRepository: fork,
        ...(opts.association ? { authorAssociation: opts.association } : {})
      })
      const commit = store.commit(fork, branch, `Fix #${issue}`, author)
      store.setCI(fork, commit.oid, opts.ci ?? 'green')
      return pull.number
    },
    addIssue(repo, title, plan, opts = {}) {
      const issue = store.addIssue(repo, {
        title,
        body: `Please fix: ${title}`,
        author: opts.author ?? 'maintainer',
        authorAssociation: opts.association ?? 'OWNER',
        labels: opts.labels ?? ['ready-for-agent']
      })
      plans.set(`${repo}#${issue.number}`.toLowerCase(), plan)
      return issue.number
    },
    env: () => ({
      GITHUB_API_URL: github.url,
      GITHUB_GRAPHQL_URL: github.graphqlUrl,
      GITHUB_SERVER_URL: github.url,
      AFK_LOOP_ALLOW_LOOPBACK_HTTP: 'true'
    }),
    inputs: (overrides = {}) => ({
      mode: 'on',
      repos: options.repos.join(','),
      'github-token': LOOP_TOKEN,
      agent: options.agent ?? 't3',
      ...(options.agent === 'workflow' || options.agent === 'copilot'
        ? {}
        : { 't3-url': t3.url, 't3-token': T3_TOKEN }),
      ...(options.agent === 'copilot' ? { 'copilot-token': COPILOT_TOKEN } : {}),
      delivery,
      'notify-webhook-url': hookUrl,
      'notify-webhook-secret': 'sandbox-secret',
      'max-concurrent': '10',
      'max-concurrent-per-repo': '10',
      ...overrides
    }),
    async close() {
      hook.closeAllConnections()
      await Promise.all([
        github.close(),
        t3.close(),
        new Promise<void>((resolve) => hook.close(() => resolve()))
      ])
    }
  }
}
