import { describe, expect, it } from '@jest/globals'
import { createT3Agent, t3ThreadStatus, type T3Options } from '../../src/agents/t3.js'
import { projectFor, startT3Sandbox, type SandboxThread } from '../../sandbox/t3/server.js'
import { deadUrl } from '../../__fixtures__/receiver.js'
import { conformance } from './conformance.js'

const TOKEN = 't3_conformance_secret'
const repo = { owner: 'acme', name: 'widgets', fullName: 'acme/widgets', key: 'acme/widgets' }

conformance('T3', async () => {
  const sandbox = await startT3Sandbox({
    token: TOKEN,
    projects: [projectFor('acme/widgets')],
    script: () => ['run', 'run', 'run']
  })
  let lose = false
  const fetchWithLoss: typeof fetch = async (input, init) => {
    const response = await fetch(input, init)
    if (lose && init?.method === 'POST') {
      lose = false
      throw new TypeError('fetch failed: the connection was lost')
    }
    return response
  }
  const options = (over: Partial<T3Options> = {}): T3Options => ({
    url: sandbox.url,
    token: TOKEN,
    projects: {},
    model: null,
    runtimeMode: 'full-access',
    timeoutMs: 2000,
    fetch: fetchWithLoss,
    ...over
  })
  return {
    agent: createT3Agent(options()),
    repo,
    async finish(threadId, how) {
      const thread = sandbox.threads.get(threadId)
      if (thread) thread.steps = [how]
      await sandbox.advance()
    },
    async scramble(threadId) {
      const thread = sandbox.threads.get(threadId)
      if (thread?.session) thread.session.status = 'hibernating'
      if (thread?.latestTurn) thread.latestTurn.state = 'completed'
    },
    created: () => sandbox.threads.size,
    loseNextAnswer: () => (lose = true),
    withBadToken: () => createT3Agent(options({ token: 'wrong-token' })),
    unreachable: async () =>
      createT3Agent(options({ url: (await deadUrl()).replace('/hook', '') })),
    errors: {
      badToken: /t3-token was rejected by http:\/\/127\.0\.0\.1/,
      unreachable: /T3 server at .* is unreachable/
    },
    secrets: [TOKEN, 'wrong-token'],
    close: () => sandbox.close()
  }
})

describe('t3ThreadStatus', () => {
  const SESSION = [
    'idle',
    'starting',
    'running',
    'ready',
    'interrupted',
    'stopped',
    'error',
    'bogus',
    null
  ] as const
  const TURN = ['running', 'interrupted', 'completed', 'error', 'bogus', null] as const

  /** The reference's rules, written independently of the implementation's tables. */
  function expected(session: (typeof SESSION)[number], turn: (typeof TURN)[number]) {
    if (session === null && turn === null) return null
    if (session === 'starting' || session === 'running' || turn === 'running') return 'running'
    if (session === 'error' || turn === 'error') return 'error'
    if (session === 'bogus' || turn === 'bogus') return null
    return 'idle'
  }

  for (const session of SESSION) {
    for (const turn of TURN) {
      it(`session ${session} × turn ${turn} → ${expected(session, turn)}`, () => {
        const thread = {
          session: session === null ? null : { status: session },
          latestTurn: turn === null ? null : { state: turn },
          deletedAt: null
        }
        expect(t3ThreadStatus(thread)).toBe(expected(session, turn))
      })
    }
  }

  it('says null for a deleted thread whatever its state', () => {
    expect(
      t3ThreadStatus({
        session: { status: 'error' },
        latestTurn: { state: 'error' },
        deletedAt: '2026-01-01T00:00:00Z'
      })
    ).toBeNull()
  })
})

describe('T3 dispatch details', () => {
  it('names the thread after the issue and attempt, sends only the turn for a half-made thread, and finds projects by identity or mapping', async () => {
    const sandbox = await startT3Sandbox({
      token: TOKEN,
      projects: [
        projectFor('acme/widgets'),
        { ...projectFor('acme/other'), repositoryIdentity: null, id: 'mapped-1' }
      ]
    })
    try {
      const agent = createT3Agent({
        url: sandbox.url,
        token: TOKEN,
        projects: { 'acme/other': 'mapped-1' },
        model: { instanceId: 'codex', model: 'gpt-5' },
        runtimeMode: 'auto-accept-edits'
      })
      const first = await agent.dispatch({
        repo,
        issue: 7,
        title: 'Fix it',
        attempt: 2,
        prompt: 'p',
        key: 'k-a2'
      })
      expect(sandbox.threads.get(first.threadId)?.title).toBe(
        'acme/widgets#7: Fix it (fix-forward 2)'
      )
      expect(sandbox.threads.get(first.threadId)?.runtimeMode).toBe('auto-accept-edits')
      // A crash between thread.create and thread.turn.start: only the turn is sent again.
      sandbox.threads.set('k-half', {
        ...(sandbox.threads.get(first.threadId) as SandboxThread),
        id: 'k-half',
        latestTurn: null,
        session: null,
        messages: [],
        steps: []
      })
      const creates = sandbox.counts['thread.create']
      expect(await agent.find({ repo, key: 'k-half' })).toBeNull()
      await agent.dispatch({
        repo,
        issue: 7,
        title: 'Fix it',
        attempt: 0,
        prompt: 'p',
        key: 'k-half'
      })
      expect(sandbox.counts['thread.create']).toBe(creates)
      expect(sandbox.threads.get('k-half')?.latestTurn?.state).toBe('running')
      const other = { owner: 'acme', name: 'other', fullName: 'acme/other', key: 'acme/other' }
      const mapped = await agent.dispatch({
        repo: other,
        issue: 1,
        title: 't',
        attempt: 0,
        prompt: 'p',
        key: 'k-other'
      })
      expect(sandbox.threads.get(mapped.threadId)?.projectId).toBe('mapped-1')
      const nowhere = {
        owner: 'acme',
        name: 'nowhere',
        fullName: 'acme/nowhere',
        key: 'acme/nowhere'
      }
      await expect(
        agent.dispatch({ repo: nowhere, issue: 1, title: 't', attempt: 0, prompt: 'p', key: 'k-x' })
      ).rejects.toThrow(/acme\/nowhere.*t3-projects/)
      sandbox.options.fault = { status: 500 }
      await expect(
        agent.dispatch({ repo, issue: 1, title: 't', attempt: 0, prompt: 'p', key: 'k-y' })
      ).rejects.toThrow(/HTTP 500: sandbox fault 500/)
    } finally {
      await sandbox.close()
    }
  })
})
