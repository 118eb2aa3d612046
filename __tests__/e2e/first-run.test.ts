/**
 * The first run on a real repository, through the committed bundle against
 * the loopback GitHub: the loop creates the labels it needs (with colours and
 * descriptions) the first time it runs with `mode: on`, and a token that may
 * not write fails the step naming the permission to grant — while a rate
 * limit or a transient fault does not. And on a GitHub Enterprise Server:
 * GHES-shaped API URLs, and a server that refuses `return_run_details`.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startWorld, LOOP_TOKEN, type World } from '../../sandbox/scenario.js'
import { runAction } from '../../sandbox/action-process.js'
import { hasEnded, outcome, tickUntil } from '../../__fixtures__/e2e.js'

jest.setTimeout(120_000)
const REPO = 'acme/widgets'
let world: World | null = null
afterEach(async () => {
  await world?.close()
  world = null
})

const writes = (w: World) => w.github.counts['graphql-write'] + w.github.counts['rest-write']
const READ_ONLY = {
  issues: 'read',
  pull_requests: 'read',
  contents: 'read',
  checks: 'read',
  statuses: 'read'
} as const

describe('the first run', () => {
  it('creates the three labels with colours and descriptions, once; a quiet tick then writes nothing', async () => {
    world = await startWorld({ repos: [REPO] })
    const w = world
    expect(w.store.repo(REPO).labels).toEqual([])

    const first = await runAction(w.inputs({ mode: 'on' }), w.env())
    expect(first.code).toBe(0)
    const labels = w.store
      .repo(REPO)
      .labels.map(({ name, color, description }) => ({ name, color, description }))
      .sort((a, b) => a.name.localeCompare(b.name))
    expect(labels).toEqual([
      {
        name: 'agent-in-progress',
        color: 'fbca04',
        description: expect.stringMatching(/afk-loop/)
      },
      { name: 'ready-for-agent', color: '0e8a16', description: expect.stringMatching(/afk-loop/) },
      { name: 'ready-for-human', color: 'd93f0b', description: expect.stringMatching(/afk-loop/) }
    ])
    expect(first.summary).toContain('Labels created: acme/widgets: ready-for-agent')

    w.github.resetCounts()
    const second = await runAction(w.inputs({ mode: 'on' }), w.env())
    expect(second.code).toBe(0)
    expect(writes(w)).toBe(0)
  })

  it('creates only the labels a repository lacks, and none in watch mode or a dry run', async () => {
    world = await startWorld({ repos: [REPO] })
    const w = world
    w.addIssue(REPO, 'Already labelled', [['run']], { labels: ['ready-for-agent'] })
    await runAction(w.inputs({ mode: 'watch' }), w.env())
    const dry = await runAction(w.inputs({ mode: 'on', 'dry-run': 'true' }), w.env())
    expect(dry.stdout).toContain('dry run: would acme/widgets: create the label agent-in-progress')
    expect(w.store.repo(REPO).labels.map((l) => l.name)).toEqual(['ready-for-agent'])
    expect(w.github.counts['rest-write']).toBe(0)
  })
})

describe('a token that may not write', () => {
  it('fails the step with an error naming the missing permission, and writes nothing', async () => {
    world = await startWorld({
      repos: [REPO],
      github: { tokenPermissions: { [LOOP_TOKEN]: READ_ONLY } }
    })
    const w = world
    w.addIssue(REPO, 'Ready', [['run']])
    const run = await runAction(w.inputs({ mode: 'on' }), w.env())
    expect(run.code).not.toBe(0)
    expect(run.stdout).toMatch(/::error::afk-loop can't write: the token lacks issues: write\./)
    expect(run.stdout).toContain('Resource not accessible by integration')
    expect(run.outputs.errors).not.toBe('0')
    expect(run.summary).toContain('Missing permission in acme/widgets: `issues: write`')
    expect(w.github.writes).toBe(0)
    expect(w.t3.threads.size).toBe(0)
  })

  it('but a spent rate limit does not fail the step', async () => {
    world = await startWorld({
      repos: [REPO],
      github: { faults: [{ kind: 'graphql-write', status: 'primary-limit' }] }
    })
    const w = world
    w.store.ensureLabel(w.store.repo(REPO), 'agent-in-progress')
    w.store.ensureLabel(w.store.repo(REPO), 'ready-for-human')
    w.addIssue(REPO, 'Ready', [['run']])
    const run = await runAction(w.inputs({ mode: 'on' }), w.env())
    expect(run.stdout).not.toContain('::error::')
    expect(run.code).toBe(0)
    expect(run.summary).toContain('Writes stopped')
  })
})

describe('a token GitHub refuses', () => {
  it('fails the step naming github-token and the fix, without printing the token', async () => {
    world = await startWorld({ repos: [REPO] })
    const w = world
    w.addIssue(REPO, 'Ready', [['run']])
    const token = 'ghs_NOT_A_REAL_TOKEN_31337'
    const run = await runAction(w.inputs({ mode: 'on', 'github-token': token }), w.env())
    expect(run.code).not.toBe(0)
    expect(run.stdout).toMatch(
      /::error::afk-loop failed: .*github-token was refused by GitHub \(401 Bad credentials\): .*Pass a valid token in github-token/
    )
    const printed = `${run.stdout}${run.stderr}${run.summary}`
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
    expect(printed.join('\n')).not.toContain(token)
    expect(w.github.writes).toBe(0)
  })
})

describe('on GitHub Enterprise Server', () => {
  it('follows GHES-shaped API URLs and lands an agent-workflow run though dispatches refuse return_run_details', async () => {
    world = await startWorld({
      repos: [REPO],
      agent: 'workflow',
      github: { refuseRunDetails: true }
    })
    const w = world
    const n = w.addIssue(REPO, 'Lands', [['run', 'push:green', 'idle']])
    const env = {
      ...w.env(),
      GITHUB_API_URL: `${w.github.url}/api/v3`,
      GITHUB_GRAPHQL_URL: `${w.github.url}/api/graphql`
    }
    const base = w.env
    w.env = () => env
    try {
      await tickUntil(w, () => hasEnded(w, REPO, n))
    } finally {
      w.env = base
    }
    expect(outcome(w, REPO, n)).toMatchObject({ action: 'CLOSE_SUCCESS', reason: 'ci-green' })
    expect(w.store.repo(REPO).workflowRuns).toHaveLength(1)
    expect(w.github.violations).toEqual([])
  })

  it('sends GraphQL to GITHUB_GRAPHQL_URL, not to one derived from GITHUB_API_URL', async () => {
    world = await startWorld({ repos: [REPO] })
    const w = world
    w.addIssue(REPO, 'Ready', [['run']])
    // A second loopback server stands for the GraphQL host: it counts what it
    // gets and hands it to the sandbox's /graphql.
    const seen: string[] = []
    const proxy = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`)
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        void fetch(`${w.github.url}/graphql`, {
          method: 'POST',
          headers: {
            authorization: req.headers.authorization ?? '',
            'content-type': 'application/json'
          },
          body: Buffer.concat(chunks)
        }).then(async (answer) => {
          const headers: Record<string, string> = {}
          answer.headers.forEach((v, k) => {
            if (k !== 'content-length' && k !== 'transfer-encoding') headers[k] = v
          })
          res.writeHead(answer.status, headers).end(await answer.text())
        })
      })
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    try {
      const port = (proxy.address() as AddressInfo).port
      const run = await runAction(w.inputs({ mode: 'on' }), {
        ...w.env(),
        GITHUB_API_URL: `${w.github.url}/api/v3`,
        GITHUB_GRAPHQL_URL: `http://127.0.0.1:${port}/ghes-graphql`
      })
      expect(run.code).toBe(0)
      const graphqlAtSandbox = w.github.log.filter((l) => l.startsWith('graphql-'))
      expect(seen.length).toBeGreaterThan(0)
      expect(seen.every((l) => l === 'POST /ghes-graphql')).toBe(true)
      // Every GraphQL request the sandbox served came through the proxy: none went to /api/graphql.
      expect(graphqlAtSandbox).toHaveLength(seen.length)
      expect(graphqlAtSandbox.every((l) => l.endsWith('POST /graphql'))).toBe(true)
      // REST still went to GITHUB_API_URL (the labels were created there).
      expect(w.github.log.some((l) => l.startsWith('rest-write POST /repos/'))).toBe(true)
      expect(w.github.violations).toEqual([])
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()))
    }
  })
})
