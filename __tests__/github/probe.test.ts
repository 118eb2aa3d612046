/**
 * `mode: check`'s GraphQL read validates against GitHub's real schema, and
 * its write probes are refused either way (checked against the sandbox,
 * which, like GitHub, checks the permission before the body).
 */
import { describe, expect, it } from '@jest/globals'
import { validate } from '@octokit/graphql-schema'
import { CHECK_QUERY, READ_QUERIES, probeRepository } from '../../src/github/probe.js'
import { createOctokit } from '../../src/github/client.js'
import { GitHubStore } from '../../sandbox/github/store.js'
import { startGitHubSandbox } from '../../sandbox/github/server.js'
import { repoRef } from '../../src/config.js'

const LABELS = {
  ready: 'ready-for-agent',
  inProgress: 'agent-in-progress',
  human: 'ready-for-human'
}

describe('the check queries', () => {
  it.each([['CHECK_QUERY', CHECK_QUERY], ...Object.entries(READ_QUERIES)])(
    '%s validates against GitHub’s schema',
    (_name, document) => {
      expect(validate(document).map((e) => e.message)).toEqual([])
    }
  )
})

describe('probeRepository', () => {
  it('reads, probes both writes without writing, and reports an unknown repository as unreachable', async () => {
    const store = new GitHubStore()
    store.addToken('t-all', 'afk-loop', { bot: true })
    store.addToken('t-read', 'afk-reader', { bot: true })
    store.addRepo('acme/api', { workflows: ['afk-agent.yml'] })
    store.ensureLabel(store.repo('acme/api'), 'ready-for-agent')
    const sandbox = await startGitHubSandbox({
      store,
      tokenPermissions: { 't-read': { issues: 'read', actions: 'read', pull_requests: 'read' } }
    })
    try {
      const clients = (token: string) =>
        createOctokit(token, { baseUrl: sandbox.url, writeSpacingMs: 0, retries: 0 })
      const options = {
        labels: LABELS,
        reads: ['issues: read', 'pull-requests: read', 'checks: read', 'contents: read'],
        workflowFile: 'afk-agent.yml'
      }
      const all = await probeRepository(clients('t-all'), repoRef('acme/api'), options)
      expect(all).toMatchObject({
        unreachable: null,
        viewer: 'afk-loop[bot]',
        refusedReads: [],
        labels: [
          { name: 'ready-for-agent', exists: true },
          { name: 'agent-in-progress', exists: false },
          { name: 'ready-for-human', exists: false }
        ],
        writes: [
          { permission: 'issues: write', allowed: true },
          { permission: 'actions: write', allowed: true }
        ]
      })
      const read = await probeRepository(clients('t-read'), repoRef('acme/api'), options)
      expect(read.unreachable).toBeNull()
      expect(read.refusedReads.map((r) => r.permission)).toEqual(['checks: read', 'contents: read'])
      expect(read.refusedReads[0]?.error).toContain('Resource not accessible by integration')
      expect(read.writes.map((w) => [w.permission, w.allowed])).toEqual([
        ['issues: write', false],
        ['actions: write', false]
      ])
      const missing = await probeRepository(clients('t-all'), repoRef('acme/nope'), options)
      expect(missing.unreachable).toMatch(/Could not resolve to a Repository/)
      expect(sandbox.writes).toBe(0)
      expect(store.repo('acme/api').labels).toHaveLength(1)
      expect(store.repo('acme/api').workflowRuns).toHaveLength(0)
      expect(sandbox.violations).toEqual([])
    } finally {
      await sandbox.close()
    }
  })
})
