/**
 * Builders for GitHub adapter tests: a loopback GitHub (responses produced by
 * GitHub's real schema), runs seeded as the loop would have left them, and
 * the adapter under test wired with fast clients.
 */
import { encode } from '../src/core/bookkeeping.js'
import { repoRef } from '../src/config.js'
import { createOctokit } from '../src/github/client.js'
import {
  TRACKED_LABEL,
  createGitHubAdapter,
  type GitHubAdapterOptions
} from '../src/github/adapter.js'
import { newRecord } from '../src/loop/run-view.js'
import { GitHubStore } from '../sandbox/github/store.js'
import {
  startGitHubSandbox,
  type GitHubSandbox,
  type SandboxOptions
} from '../sandbox/github/server.js'

export const LOOP = 'afk-loop'
export const TOKEN = 'ghs_loop'
export const LABELS = {
  ready: 'ready-for-agent',
  inProgress: 'agent-in-progress',
  human: 'ready-for-human'
}

export const ref = repoRef

export function seedStore(repos: string[]): GitHubStore {
  const store = new GitHubStore()
  store.addToken(TOKEN, LOOP, { bot: true })
  for (const r of repos) {
    const repo = store.addRepo(r, { workflows: ['afk-agent.yml'] })
    for (const name of Object.values(LABELS)) store.ensureLabel(repo, name)
  }
  return store
}

/** An issue in flight: in-progress label and a status comment by the loop. */
export function seedRun(
  store: GitHubStore,
  repo: string,
  title = 'Run',
  delivery: 'pull-request' | 'trunk' = 'pull-request'
) {
  // The loop's claim adds the in-progress label and its tracking label together.
  const issue = store.addIssue(repo, { title, labels: [LABELS.inProgress, TRACKED_LABEL] })
  const record = {
    ...newRecord(ref(repo), issue.number, delivery, new Date(Date.now() - 60_000)),
    intent: null
  }
  const comment = store.addComment(issue, LOOP, `### afk-loop: agent working\n\n${encode(record)}`)
  return { issue, comment, record }
}

export async function startGitHub(
  store: GitHubStore,
  options: Omit<SandboxOptions, 'store'> = {}
): Promise<GitHubSandbox> {
  return startGitHubSandbox({ store, ...options })
}

export function adapterFor(
  sandbox: GitHubSandbox,
  repos: string[],
  overrides: Partial<GitHubAdapterOptions> = {}
) {
  const clients = createOctokit(TOKEN, {
    baseUrl: sandbox.url,
    writeSpacingMs: 0,
    retryAfterBaseValue: 1,
    retries: 1
  })
  return createGitHubAdapter({
    clients,
    repos: repos.map(ref),
    labels: LABELS,
    delivery: 'pull-request',
    ignoreChecks: [],
    now: () => new Date(),
    trackWindowSeconds: 31 * 3600,
    trunkWindowSeconds: 7 * 3600,
    ...overrides
  })
}
