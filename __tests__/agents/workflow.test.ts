import { describe, expect, it } from '@jest/globals'
import {
  DISPATCH_INPUTS_LIMIT,
  createWorkflowAgent,
  fitPrompt,
  ofAgentWorkflow,
  workflowRunStatus
} from '../../src/agents/workflow.js'
import { createOctokit } from '../../src/github/client.js'
import { UNTRUSTED_TAG, untrustedBlock } from '../../src/core/prompts.js'
import { runKeyPrefix } from '../../src/core/record-checks.js'
import { GitHubStore } from '../../sandbox/github/store.js'
import { startGitHubSandbox } from '../../sandbox/github/server.js'
import { deadUrl } from '../../__fixtures__/receiver.js'
import { conformance } from './conformance.js'

const TOKEN = 'ghs_workflow_secret'
const repo = { owner: 'acme', name: 'widgets', fullName: 'acme/widgets', key: 'acme/widgets' }

async function world() {
  const store = new GitHubStore()
  store.addToken(TOKEN, 'afk-loop', { bot: true })
  store.addRepo('acme/widgets', { workflows: ['afk-agent.yml'] })
  const sandbox = await startGitHubSandbox({ store })
  return { store, sandbox }
}

conformance('GitHub agent workflow', async () => {
  const { store, sandbox } = await world()
  let lose = false
  const fetchWithLoss: typeof fetch = async (input, init) => {
    const response = await fetch(input, init)
    if (lose && init?.method === 'POST') {
      lose = false
      throw new TypeError('the connection was lost')
    }
    return response
  }
  const clients = (token = TOKEN, baseUrl = sandbox.url) =>
    createOctokit(token, { baseUrl, fetch: fetchWithLoss, writeSpacingMs: 0, retries: 0 })
  const agent = (token?: string, baseUrl?: string) =>
    createWorkflowAgent({
      clients: clients(token, baseUrl),
      workflowFile: 'afk-agent.yml',
      ref: null,
      findDelayMs: 10
    })
  const runOf = (id: string) =>
    store.repo('acme/widgets').workflowRuns.find((r) => String(r.id) === id)
  return {
    agent: agent(),
    repo,
    async finish(threadId, how) {
      const run = runOf(threadId)
      if (run)
        Object.assign(run, {
          status: 'completed',
          conclusion: how === 'idle' ? 'success' : 'failure'
        })
    },
    async scramble(threadId) {
      const run = runOf(threadId)
      if (run) Object.assign(run, { status: 'completed', conclusion: 'something_new' })
    },
    created: () => store.repo('acme/widgets').workflowRuns.length,
    loseNextAnswer: () => (lose = true),
    withBadToken: () => agent('wrong-token'),
    unreachable: async () => agent(TOKEN, (await deadUrl()).replace('/hook', '')),
    errors: {
      badToken: /GitHub rejected github-token \(HTTP 401\)/,
      unreachable: /GitHub is unreachable/
    },
    secrets: [TOKEN, 'wrong-token'],
    close: () => sandbox.close()
  }
})

describe('workflowRunStatus', () => {
  const STATUSES = [
    'queued',
    'in_progress',
    'waiting',
    'requested',
    'pending',
    'completed',
    'weird',
    null
  ]
  const CONCLUSIONS = [
    'success',
    'neutral',
    'skipped',
    'failure',
    'cancelled',
    'timed_out',
    'action_required',
    'startup_failure',
    'stale',
    'weird',
    null
  ]
  const expected = (status: string | null, conclusion: string | null) => {
    if (status && ['queued', 'in_progress', 'waiting', 'requested', 'pending'].includes(status))
      return 'running'
    if (status !== 'completed') return null
    if (conclusion && ['success', 'neutral', 'skipped'].includes(conclusion)) return 'idle'
    if (
      conclusion &&
      ['failure', 'cancelled', 'timed_out', 'action_required', 'startup_failure', 'stale'].includes(
        conclusion
      )
    )
      return 'error'
    return null
  }
  for (const status of STATUSES) {
    for (const conclusion of CONCLUSIONS) {
      it(`${status} × ${conclusion} → ${expected(status, conclusion)}`, () => {
        expect(workflowRunStatus(status, conclusion)).toBe(expected(status, conclusion))
      })
    }
  }
})

describe('workflow dispatch details', () => {
  it('passes issue, prompt and run_key; names the link; reads all runs of a repository in one list call', async () => {
    const { store, sandbox } = await world()
    try {
      const clients = createOctokit(TOKEN, { baseUrl: sandbox.url, writeSpacingMs: 0 })
      const agent = createWorkflowAgent({ clients, workflowFile: 'afk-agent.yml', ref: 'main' })
      const a = await agent.dispatch({
        repo,
        issue: 7,
        title: 't',
        attempt: 0,
        prompt: 'do it',
        key: 'key-a'
      })
      const b = await agent.dispatch({
        repo,
        issue: 8,
        title: 't',
        attempt: 0,
        prompt: 'do it',
        key: 'key-b'
      })
      const run = store.repo('acme/widgets').workflowRuns[0]
      expect(run?.inputs).toEqual({ issue: '7', prompt: 'do it', run_key: 'key-a' })
      expect(a.url).toMatch(/\/actions\/runs\/\d+$/)
      sandbox.resetCounts()
      const snapshot = await agent.snapshot([a, b].map((t) => ({ repo, threadId: t.threadId })))
      expect([snapshot.status(a.threadId), snapshot.status(b.threadId)]).toEqual([
        'running',
        'running'
      ])
      expect(sandbox.counts['rest-read']).toBe(1)
      await expect(
        createWorkflowAgent({ clients, workflowFile: 'missing.yml', ref: 'main' }).dispatch({
          repo,
          issue: 1,
          title: 't',
          attempt: 0,
          prompt: 'p',
          key: 'k'
        })
      ).rejects.toThrow('workflow missing.yml in acme/widgets not found (agent-workflow input)')
      expect(sandbox.violations).toEqual([])
    } finally {
      await sandbox.close()
    }
  })

  it('cuts a prompt too long for workflow_dispatch, and says so', () => {
    const long = 'x'.repeat(100_000)
    const cut = fitPrompt(long)
    expect(cut.length).toBeLessThan(DISPATCH_INPUTS_LIMIT - 500)
    expect(cut).toMatch(/cut to fit GitHub's workflow_dispatch input limit\.\]$/)
    expect(cut).not.toMatch(/issue|yourself/i)
    expect(fitPrompt('short')).toBe('short')
  })

  it('cuts an over-long prompt before its untrusted block, which stays whole and closed', () => {
    const facts = { issue: 7, title: 'Fix it', body: 'b'.repeat(50_000) }
    const block = untrustedBlock(facts)
    const prompt = `${'operator instructions '.repeat(2_000)}\n\n${block}`
    expect(prompt.length).toBeGreaterThan(DISPATCH_INPUTS_LIMIT)
    const cut = fitPrompt(prompt)
    expect(cut.length).toBeLessThan(DISPATCH_INPUTS_LIMIT - 500)
    expect(cut.endsWith(block)).toBe(true)
    expect(cut.match(new RegExp(`<${UNTRUSTED_TAG} `, 'g'))).toHaveLength(1)
    expect(cut.match(new RegExp(`</${UNTRUSTED_TAG} `, 'g'))).toHaveLength(1)
    expect(cut).toContain("cut to fit GitHub's workflow_dispatch input limit.]")
  })

  it('finds a run only by its exact name afk <key>: a look-alike never stands for a dispatch', async () => {
    const { store, sandbox } = await world()
    try {
      const clients = createOctokit(TOKEN, { baseUrl: sandbox.url, writeSpacingMs: 0 })
      const agent = createWorkflowAgent({ clients, workflowFile: 'afk-agent.yml', ref: 'main' })
      const now = new Date().toISOString()
      for (const [id, title] of [
        [901, 'afk key-a please'],
        [902, 'not afk key-a'],
        [903, 'afk key-ab']
      ] as const) {
        store.repo('acme/widgets').workflowRuns.push({
          id,
          workflowFile: 'afk-agent.yml',
          name: title,
          displayTitle: title,
          status: 'in_progress',
          conclusion: null,
          headBranch: 'main',
          inputs: {},
          createdAt: now,
          updatedAt: now
        })
      }
      expect(await agent.find({ repo, key: 'key-a' })).toBeNull()
      const thread = await agent.dispatch({
        repo,
        issue: 7,
        title: 't',
        attempt: 0,
        prompt: 'p',
        key: 'key-a'
      })
      expect([901, 902, 903].map(String)).not.toContain(thread.threadId)
      expect(await agent.find({ repo, key: 'key-a' })).toEqual(thread)
    } finally {
      await sandbox.close()
    }
  })
})

describe('on a GitHub Enterprise Server without return_run_details', () => {
  const request = (issue: number, key: string) => ({
    repo,
    issue,
    title: 't',
    attempt: 0,
    prompt: 'do it',
    key
  })

  it('dispatches again without it, finds the run by name, and stops asking', async () => {
    const store = new GitHubStore()
    store.addToken(TOKEN, 'afk-loop', { bot: true })
    store.addRepo('acme/widgets', { workflows: ['afk-agent.yml'] })
    const sandbox = await startGitHubSandbox({ store, refuseRunDetails: true })
    try {
      const clients = createOctokit(TOKEN, { baseUrl: sandbox.url, writeSpacingMs: 0 })
      const agent = createWorkflowAgent({
        clients,
        workflowFile: 'afk-agent.yml',
        ref: 'main',
        findDelayMs: 10
      })
      const a = await agent.dispatch(request(7, 'key-a'))
      const runs = store.repo('acme/widgets').workflowRuns
      expect(runs).toHaveLength(1)
      expect(a.threadId).toBe(String(runs[0]?.id))
      expect(runs[0]?.name).toBe('afk key-a')
      const b = await agent.dispatch(request(8, 'key-b'))
      expect(b.threadId).toBe(String(runs[1]?.id))
      const dispatches = sandbox.log.filter((l) => l.includes('/dispatches'))
      // a: refused, then sent without the key; b: sent without it at once.
      expect(dispatches).toHaveLength(3)
      expect(sandbox.violations).toEqual([])
    } finally {
      await sandbox.close()
    }
  })

  it('does not retry other refusals', async () => {
    const { refusesRunDetails } = await import('../../src/agents/workflow.js')
    const named = Object.assign(
      new Error('Invalid request.\n\n"return_run_details" is not a permitted key.'),
      { status: 422 }
    )
    expect(refusesRunDetails(named)).toBe(true)
    expect(refusesRunDetails({ ...named, status: 400, message: named.message })).toBe(true)
    expect(
      refusesRunDetails(Object.assign(new Error('Unexpected inputs provided'), { status: 422 }))
    ).toBe(false)
    expect(refusesRunDetails(Object.assign(new Error(named.message), { status: 500 }))).toBe(false)
  })

  it("stops only a run named afk <key>: a record can't aim the cancel at another workflow's run", async () => {
    const { store, sandbox } = await world()
    try {
      const clients = createOctokit(TOKEN, { baseUrl: sandbox.url, writeSpacingMs: 0 })
      const agent = createWorkflowAgent({ clients, workflowFile: 'afk-agent.yml', ref: 'main' })
      const ours = await agent.dispatch({
        repo,
        issue: 7,
        title: 't',
        attempt: 0,
        prompt: 'p',
        key: 'key-a'
      })
      const now = new Date().toISOString()
      store.repo('acme/widgets').workflowRuns.push({
        id: 4242,
        workflowFile: 'afk-agent.yml',
        name: 'deploy production',
        displayTitle: 'deploy production',
        status: 'in_progress',
        conclusion: null,
        headBranch: 'main',
        inputs: {},
        createdAt: now,
        updatedAt: now
      })
      const statusOf = (id: string) =>
        store.repo('acme/widgets').workflowRuns.find((r) => String(r.id) === id)?.status
      // A forged record: the victim's run id under this run's key, or no key at all.
      await agent.interrupt({ repo, threadId: '4242', key: 'key-a' })
      await agent.interrupt({ repo, threadId: '4242' })
      expect(statusOf('4242')).toBe('in_progress')
      await agent.interrupt({ repo, threadId: ours.threadId, key: 'key-b' })
      expect(statusOf(ours.threadId)).not.toBe('completed')
      await agent.interrupt({ repo, threadId: ours.threadId, key: 'key-a' })
      expect(statusOf(ours.threadId)).toBe('completed')
      await agent.interrupt({ repo, threadId: '999999', key: 'key-a' }) // gone: nothing to stop
      // Another workflow's run given this dispatch's exact name is not the agent's.
      store.repo('acme/widgets').workflowRuns.push({
        id: 4343,
        workflowFile: 'deploy.yml',
        name: 'afk key-a',
        displayTitle: 'afk key-a',
        status: 'in_progress',
        conclusion: null,
        headBranch: 'main',
        inputs: {},
        createdAt: now,
        updatedAt: now
      })
      await agent.interrupt({ repo, threadId: '4343', key: 'key-a' })
      expect(statusOf('4343')).toBe('in_progress')
    } finally {
      await sandbox.close()
    }
  })
})

describe('the agent workflow and the sweep of orphaned agents', () => {
  const key = (r: string, issue: number) => `${runKeyPrefix(r, issue)}mi0abc-a0`
  const other = { owner: 'acme', name: 'gears', fullName: 'acme/gears', key: 'acme/gears' }
  const quiet = { owner: 'acme', name: 'quiet', fullName: 'acme/quiet', key: 'acme/quiet' }

  it("lists the loop's own running runs in every repository swept, one list each, and cancels them once", async () => {
    const store = new GitHubStore()
    store.addToken(TOKEN, 'afk-loop', { bot: true })
    for (const r of ['acme/widgets', 'acme/gears'])
      store.addRepo(r, { workflows: ['afk-agent.yml'] })
    store.addRepo('acme/quiet') // no agent workflow there: its list fails, silently
    const sandbox = await startGitHubSandbox({ store })
    try {
      const agent = createWorkflowAgent({
        clients: createOctokit(TOKEN, { baseUrl: sandbox.url, writeSpacingMs: 0, retries: 0 }),
        workflowFile: 'afk-agent.yml',
        ref: null,
        findDelayMs: 10
      })
      const send = (r: typeof repo, k: string) =>
        agent.dispatch({ repo: r, issue: 1, title: 't', attempt: 0, prompt: 'p', key: k })
      const mine = await send(repo, key('acme/widgets', 1))
      const theirs = await send(other, key('acme/gears', 2))
      await send(other, 'not-a-loop-key')
      const done = await send(other, key('acme/gears', 3))
      Object.assign(
        store.repo('acme/gears').workflowRuns.find((r) => String(r.id) === done.threadId) ?? {},
        {
          status: 'completed',
          conclusion: 'success'
        }
      )
      sandbox.resetCounts()
      const snapshot = await agent.snapshot([], [repo, other, quiet])
      expect(agent.listsRunning).toBe(true)
      expect(snapshot.error).toBeNull()
      expect(snapshot.running?.()).toEqual([
        { threadId: mine.threadId, key: key('acme/widgets', 1), repo },
        { threadId: theirs.threadId, key: key('acme/gears', 2), repo: other }
      ])
      expect(sandbox.counts['rest-read']).toBe(3)
      // With a run in flight in one of them: still one list there.
      sandbox.resetCounts()
      await agent.snapshot([{ repo, threadId: mine.threadId }], [repo, other])
      expect(sandbox.counts['rest-read']).toBe(2)
      // Cancelled, it is no longer running; a second cancel is a no-op (409 taken as done).
      await agent.interrupt({ repo, threadId: mine.threadId, key: key('acme/widgets', 1) })
      await agent.interrupt({ repo, threadId: mine.threadId, key: key('acme/widgets', 1) })
      const after = await agent.snapshot([], [repo])
      expect(after.running?.()).toEqual([])
    } finally {
      await sandbox.close()
    }
  })
})

describe('ofAgentWorkflow', () => {
  it('matches a run by its workflow file path, or by workflow id when the input is an id', () => {
    expect(ofAgentWorkflow({ path: '.github/workflows/afk-agent.yml' }, 'afk-agent.yml')).toBe(true)
    expect(
      ofAgentWorkflow({ path: '.github/workflows/afk-agent.yml@refs/heads/main' }, 'afk-agent.yml')
    ).toBe(true)
    expect(ofAgentWorkflow({ path: '.github/workflows/deploy.yml' }, 'afk-agent.yml')).toBe(false)
    expect(ofAgentWorkflow({ path: 'x/.github/workflows/afk-agent.yml' }, 'afk-agent.yml')).toBe(
      false
    )
    expect(ofAgentWorkflow({}, 'afk-agent.yml')).toBe(false)
    expect(ofAgentWorkflow({ workflow_id: 1234 }, '1234')).toBe(true)
    expect(ofAgentWorkflow({ workflow_id: 99, path: '.github/workflows/1234' }, '1234')).toBe(false)
  })
})
