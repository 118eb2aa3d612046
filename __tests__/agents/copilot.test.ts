import { describe, expect, it } from '@jest/globals'
import {
  FIND_WINDOW,
  copilotTaskStatus,
  createCopilotAgent,
  keyOfPrompt,
  taskBranch,
  taskPrompt
} from '../../src/agents/copilot.js'
import { createOctokit } from '../../src/github/client.js'
import { AgentUnavailableError, PermanentDispatchError } from '../../src/loop/ports.js'
import { AgentTasks, type AgentTasksOptions } from '../../sandbox/github/agent-tasks.js'
import { GitHubStore } from '../../sandbox/github/store.js'
import { startGitHubSandbox } from '../../sandbox/github/server.js'
import { deadUrl } from '../../__fixtures__/receiver.js'
import { conformance } from './conformance.js'

const LOOP_TOKEN = 'ghs_loop_installation_token'
const USER_TOKEN = 'github_pat_copilot_user_secret'
const repo = { owner: 'acme', name: 'widgets', fullName: 'acme/widgets', key: 'acme/widgets' }

async function world(options: AgentTasksOptions = {}) {
  const store = new GitHubStore()
  store.addToken(LOOP_TOKEN, 'afk-loop', { bot: true })
  store.addToken(USER_TOKEN, 'octocat')
  store.addToken('github_pat_read_only', 'reader')
  store.addRepo('acme/widgets', { defaultBranch: 'trunk' })
  const tasks = new AgentTasks(store, options)
  const sandbox = await startGitHubSandbox({ store, agentTasks: tasks })
  let lose = false
  const fetchWithLoss: typeof fetch = async (input, init) => {
    const response = await fetch(input, init)
    if (lose && init?.method === 'POST') {
      lose = false
      throw new TypeError('the connection was lost')
    }
    return response
  }
  const clients = (token: string, baseUrl = sandbox.url) =>
    createOctokit(token, { baseUrl, fetch: fetchWithLoss, writeSpacingMs: 0, retries: 0 })
  const agent = (token = USER_TOKEN, baseUrl = sandbox.url, model: string | null = null) =>
    createCopilotAgent({
      copilot: clients(token, baseUrl),
      github: clients(LOOP_TOKEN, baseUrl),
      baseRef: null,
      model
    })
  return { store, tasks, sandbox, agent, lose: () => (lose = true) }
}

const request = (key: string, extra: { branch?: string; attempt?: number } = {}) => ({
  repo,
  issue: 7,
  title: 'Fix the parser',
  attempt: extra.attempt ?? 0,
  prompt: 'Please fix the parser.',
  key,
  ...(extra.branch ? { branch: extra.branch } : {})
})

conformance('GitHub Copilot cloud agent', async () => {
  const w = await world()
  return {
    agent: w.agent(),
    repo,
    async finish(threadId, how) {
      w.tasks.setState(threadId, how === 'idle' ? 'completed' : 'failed')
    },
    async scramble(threadId) {
      w.tasks.setState(threadId, 'pondering')
    },
    created: () => w.tasks.created,
    loseNextAnswer: () => w.lose(),
    withBadToken: () => w.agent('wrong-token'),
    unreachable: async () => w.agent(USER_TOKEN, (await deadUrl()).replace('/hook', '')),
    errors: {
      badToken: /GitHub rejected copilot-token \(HTTP 401\)/,
      unreachable: /GitHub is unreachable/
    },
    noInterrupt: true,
    requests: () => w.sandbox.log.length,
    secrets: [USER_TOKEN, LOOP_TOKEN, 'wrong-token'],
    close: async () => {
      expect(w.sandbox.violations).toEqual([])
      await w.sandbox.close()
    }
  }
})

describe('copilotTaskStatus (the table in docs/reference/copilot-agent-tasks.md)', () => {
  const table: [unknown, string | null][] = [
    ['queued', 'running'],
    ['in_progress', 'running'],
    ['completed', 'idle'],
    ['idle', 'idle'],
    ['waiting_for_user', 'idle'],
    ['failed', 'error'],
    ['timed_out', 'error'],
    ['cancelled', 'error'],
    ['archived', null],
    ['toString', null],
    ['', null],
    [null, null],
    [42, null]
  ]
  for (const [state, status] of table) {
    it(`${String(state)} → ${String(status)}`, () => {
      expect(copilotTaskStatus(state)).toBe(status)
    })
  }
})

describe('taskBranch: the branch a task names in its artifacts', () => {
  it.each([
    [
      'a branch artifact',
      [{ type: 'branch', data: { head_ref: 'copilot/x', base_ref: 'main' } }],
      'copilot/x'
    ],
    [
      'a pull artifact first',
      [
        { type: 'pull', data: { id: 3 } },
        { type: 'branch', data: { head_ref: 'b' } }
      ],
      'b'
    ],
    ['no artifacts', undefined, null],
    ['a shape the docs don’t describe', 'branch', null],
    ['an empty branch name', [{ type: 'branch', data: { head_ref: '' } }], null]
  ])('%s → %s', (_name, artifacts, expected) => {
    expect(taskBranch({ artifacts })).toBe(expected)
  })
})

describe('the task prompt', () => {
  it('asks for a pull request that closes the issue, and carries the key on its own line', () => {
    const text = taskPrompt(request('run-x-a0'))
    expect(text.startsWith('Please fix the parser.')).toBe(true)
    expect(text).toContain('Work on the branch `afk/issue-7`')
    expect(text).toContain('open a pull request from it that closes acme/widgets#7')
    expect(text).toContain('Closes #7')
    expect(keyOfPrompt(text)).toBe('run-x-a0')
  })
  it('sends a fix-forward to the pull request branch', () => {
    const text = taskPrompt(request('run-x-a1', { branch: 'copilot/fix-7', attempt: 1 }))
    expect(text).toContain('`copilot/fix-7`')
    expect(text).not.toContain('open a pull request')
  })
  it('ignores a key that is not on a line of its own', () => {
    expect(keyOfPrompt('see afk-loop-run-key: other inline')).toBeNull()
    expect(keyOfPrompt('no key at all')).toBeNull()
  })
})

describe('Copilot backend against the sandbox agent tasks API', () => {
  it('starts a task on the default branch asking for a pull request, with the task link', async () => {
    const w = await world()
    try {
      const thread = await w.agent(USER_TOKEN, w.sandbox.url, 'gpt-5.4').dispatch(request('k-a0'))
      const task = w.tasks.tasks[0]
      expect(task?.id).toBe(thread.threadId)
      expect(thread.url).toBe(`https://github.com/acme/widgets/copilot/tasks/${task?.id}`)
      expect(task?.baseRef).toBe('trunk')
      expect(task?.createPullRequest).toBe(true)
      expect(task?.sessions[0]?.model).toBe('gpt-5.4')
      expect(task?.creatorLogin).toBe('octocat')
      expect(w.sandbox.violations).toEqual([])
    } finally {
      await w.sandbox.close()
    }
  })

  it('fixes forward with a new task on the pull request branch', async () => {
    const w = await world()
    try {
      const agent = w.agent()
      await agent.dispatch(request('k-a0'))
      const again = await agent.dispatch(request('k-a1', { branch: 'copilot/task-1', attempt: 1 }))
      expect(w.tasks.created).toBe(2)
      const task = w.tasks.task(again.threadId)
      expect(task?.headRef).toBe('copilot/task-1')
      expect(task?.baseRef).toBe('trunk')
      expect((await agent.find({ repo, key: 'k-a0' }))?.threadId).not.toBe(again.threadId)
      expect((await agent.find({ repo, key: 'k-a1' }))?.threadId).toBe(again.threadId)
    } finally {
      await w.sandbox.close()
    }
  })

  it('finds a task by key after a crash, from a fresh adapter, among other tasks', async () => {
    const w = await world()
    try {
      const first = w.agent()
      for (let i = 0; i < 5; i++) await first.dispatch(request(`other-${i}`))
      const mine = await first.dispatch(request('mine-a0'))
      for (let i = 5; i < 8; i++) await first.dispatch(request(`other-${i}`))
      const fresh = w.agent()
      expect((await fresh.find({ repo, key: 'mine-a0' }))?.threadId).toBe(mine.threadId)
      await fresh.dispatch(request('mine-a0'))
      expect(w.tasks.created).toBe(9)
      // A prefix of a key is not the key.
      expect(await fresh.find({ repo, key: 'mine' })).toBeNull()
    } finally {
      await w.sandbox.close()
    }
  })

  it(`looks for a key among the newest ${FIND_WINDOW} tasks only`, async () => {
    const w = await world()
    try {
      const agent = w.agent()
      await agent.dispatch(request('old-a0'))
      for (let i = 0; i < FIND_WINDOW; i++) await agent.dispatch(request(`n-${i}`))
      expect(await w.agent().find({ repo, key: 'old-a0' })).toBeNull()
    } finally {
      await w.sandbox.close()
    }
  })

  it('reads a tracked task that fell off the list page one by one; a deleted one is unknown', async () => {
    const w = await world()
    try {
      const agent = w.agent()
      const old = await agent.dispatch(request('old-a0'))
      for (let i = 0; i < 100; i++)
        w.tasks.tasks.push({
          ...structuredClone(w.tasks.tasks[0]!),
          id: `filler-${i}`,
          updatedAt: '2999-01-01T00:00:00Z'
        })
      w.tasks.setState(old.threadId, 'completed')
      for (const t of w.tasks.tasks)
        if (t.id.startsWith('filler-')) t.updatedAt = '2999-01-01T00:00:00Z'
      w.sandbox.resetCounts()
      const snapshot = await agent.snapshot([
        { repo, threadId: old.threadId },
        { repo, threadId: 'gone' }
      ])
      expect(snapshot.status(old.threadId)).toBe('idle')
      expect(snapshot.status('gone')).toBeNull()
      expect(snapshot.error).toBeNull()
      expect(w.sandbox.log.filter((l) => l.includes('/tasks/'))).toHaveLength(2)
    } finally {
      await w.sandbox.close()
    }
  })

  it('names a GitHub without agent tasks', async () => {
    const w = await world({ offered: false })
    try {
      const error = await w
        .agent()
        .dispatch(request('k-a0'))
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AgentUnavailableError)
      expect((error as Error).message).toMatch(/this GitHub does not offer agent tasks/)
      const snapshot = await w.agent().snapshot([{ repo, threadId: 'x' }])
      expect(snapshot.unavailable).toBe(true)
      expect(snapshot.error).toMatch(/does not offer agent tasks/)
      const check = await w.agent().check!([repo])
      expect(check.reach).toEqual({
        ok: false,
        detail: expect.stringMatching(/does not offer agent tasks/)
      })
      expect(check.repos[0]?.ok).toBe(false)
    } finally {
      await w.sandbox.close()
    }
  })

  it('names an installation token as the wrong kind of token', async () => {
    const w = await world()
    try {
      const error = await w
        .agent(LOOP_TOKEN)
        .dispatch(request('k-a0'))
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AgentUnavailableError)
      expect((error as Error).message).toMatch(
        /HTTP 403: GitHub App installation access tokens are not supported/
      )
      expect((error as Error).message).toMatch(/must be a user token/)
      expect((error as Error).message).not.toContain(LOOP_TOKEN)
      expect(w.tasks.created).toBe(0)
    } finally {
      await w.sandbox.close()
    }
  })

  it('names a missing "Agent tasks" permission: read-only lists but may not start', async () => {
    const w = await world({ access: { github_pat_read_only: 'read', [USER_TOKEN]: 'none' } })
    try {
      const reader = w.agent('github_pat_read_only')
      expect((await reader.snapshot([{ repo, threadId: 'x' }])).error).toBeNull()
      const error = await reader.dispatch(request('k-a0')).catch((e: unknown) => e)
      expect((error as Error).message).toMatch(/"Agent tasks" \(read and write\)/)
      const none = await w.agent().snapshot([{ repo, threadId: 'x' }])
      expect(none.error).toMatch(/HTTP 403/)
      const check = await w.agent().check!([repo])
      expect(check.repos[0]?.ok).toBe(false)
      expect(check.repos[0]?.detail).toMatch(/Agent tasks/)
      const good = await w.agent('github_pat_read_only').check!([repo])
      expect(good.reach.ok).toBe(true)
      expect(good.repos[0]?.ok).toBe(true)
      expect(w.tasks.created).toBe(0)
    } finally {
      await w.sandbox.close()
    }
  })

  it('reports a refused start (422) as permanent, and a rejected token in check', async () => {
    const w = await world()
    try {
      w.sandbox.options.agentTasks!.reply = () => ({
        status: 422,
        body: {
          message: 'Validation Failed',
          documentation_url: 'x',
          errors: [{ code: 'invalid' }]
        }
      })
      const error = await w
        .agent()
        .dispatch(request('k-a0'))
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(PermanentDispatchError)
      expect((error as Error).message).toMatch(/copilot-model/)
      const bad = await w.agent('wrong-token').check!([repo])
      expect(bad.reach.ok).toBe(false)
      expect(bad.reach.detail).toMatch(/HTTP 401/)
    } finally {
      await w.sandbox.close()
    }
  })
})

describe('the sandbox agent tasks API is as strict as GitHub documents', () => {
  const post = async (url: string, token: string, body: unknown) =>
    fetch(`${url}/agents/repos/acme/widgets/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body)
    })

  it('refuses a start without a prompt or with fields of the wrong type (422)', async () => {
    const w = await world()
    try {
      const missing = await post(w.sandbox.url, USER_TOKEN, { base_ref: 'trunk' })
      expect(missing.status).toBe(422)
      expect(((await missing.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe(
        'missing_field'
      )
      expect((await post(w.sandbox.url, USER_TOKEN, { prompt: 3 })).status).toBe(422)
      expect(
        (await post(w.sandbox.url, USER_TOKEN, { prompt: 'x', create_pull_request: 'yes' })).status
      ).toBe(422)
      const ok = await post(w.sandbox.url, USER_TOKEN, { prompt: 'x' })
      expect(ok.status).toBe(201)
      const task = (await ok.json()) as Record<string, unknown>
      for (const field of ['id', 'state', 'created_at']) expect(task[field]).toBeDefined()
      expect(task.state).toBe('queued')
      expect(w.tasks.created).toBe(1)
    } finally {
      await w.sandbox.close()
    }
  })

  it('answers 401 without a known token and 404 for an unknown repository', async () => {
    const w = await world()
    try {
      expect((await post(w.sandbox.url, 'nope', { prompt: 'x' })).status).toBe(401)
      const res = await fetch(`${w.sandbox.url}/agents/repos/acme/nothing/tasks`, {
        headers: { authorization: `Bearer ${USER_TOKEN}` }
      })
      expect(res.status).toBe(404)
      const list = await fetch(`${w.sandbox.url}/agents/repos/acme/widgets/tasks?per_page=101`, {
        headers: { authorization: `Bearer ${USER_TOKEN}` }
      })
      expect(list.status).toBe(422)
    } finally {
      await w.sandbox.close()
    }
  })
})
