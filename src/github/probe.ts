/**
 * `mode: check`'s reads of GitHub: what the token can see and do in each
 * allowlisted repository, without writing anything.
 *
 * - One GraphQL query per repository (`CHECK_QUERY`): the viewer, whether the
 *   repository is visible, a one-item read of each thing the loop reads
 *   (issues, pull requests, CI of the default branch's head, its history) and
 *   the three labels. A read GitHub refuses comes back as an error whose
 *   `path` names the field: mapped to the permission that allows it.
 * - Writes are probed with requests GitHub refuses either way: without the
 *   permission it answers 403 (naming it in `x-accepted-github-permissions`);
 *   with it, the request is invalid and answered 422 — before anything is
 *   written. `issues: write`: create a label with an empty name.
 *   `actions: write`: dispatch the agent workflow on a ref that can't exist.
 * - The workflow's own repository, for the schedule's 60-day risk.
 */
import type { RepoRef } from '../config.js'
import type { RepoFacts, ScheduleFacts } from '../core/check.js'
import type { GitHubClients } from './client.js'
import { acceptedPermission, asPermissionError } from './errors.js'

export const CHECK_QUERY = `query AfkCheck($owner: String!, $name: String!, $ready: String!, $inProgress: String!, $human: String!) {
  viewer { login }
  repository(owner: $owner, name: $name) {
    nameWithOwner
    issues(first: 1) { totalCount }
    pullRequests(first: 1) { totalCount }
    defaultBranchRef {
      name
      target {
        ... on Commit {
          statusCheckRollup { state }
          history(first: 1) { totalCount }
        }
      }
    }
    ready: label(name: $ready) { name }
    inProgress: label(name: $inProgress) { name }
    human: label(name: $human) { name }
  }
}`

/** The permission that allows reading each field of CHECK_QUERY. */
const READ_PERMISSION: Readonly<Record<string, string>> = {
  issues: 'issues: read',
  ready: 'issues: read',
  inProgress: 'issues: read',
  human: 'issues: read',
  pullRequests: 'pull-requests: read',
  statusCheckRollup: 'checks: read',
  history: 'contents: read'
}

interface CheckData {
  viewer?: { login: string } | null
  repository?: {
    nameWithOwner: string
    ready?: { name: string } | null
    inProgress?: { name: string } | null
    human?: { name: string } | null
  } | null
}

export interface ProbeOptions {
  labels: { ready: string; inProgress: string; human: string }
  /** Probe `actions: write` by dispatching this workflow on a ref that can't exist. */
  workflowFile: string | null
}

/** What the token can read and write in `repo`. Never throws. */
export async function probeRepository(
  clients: GitHubClients,
  repo: RepoRef,
  options: ProbeOptions
): Promise<RepoFacts> {
  const { reader, writer } = clients
  const facts: RepoFacts = {
    repo: repo.fullName,
    unreachable: null,
    viewer: null,
    refusedReads: [],
    labels: [],
    writes: []
  }
  let data: CheckData | null
  try {
    data = await reader.graphql<CheckData>(CHECK_QUERY, {
      owner: repo.owner,
      name: repo.name,
      ready: options.labels.ready,
      inProgress: options.labels.inProgress,
      human: options.labels.human
    })
  } catch (error) {
    const e = error as {
      data?: CheckData | null
      errors?: { type?: string; path?: (string | number)[]; message?: string }[]
      message?: string
    }
    data = e.data ?? null
    for (const x of e.errors ?? []) {
      const field = [...(x.path ?? [])]
        .reverse()
        .find((p) => typeof p === 'string' && p in READ_PERMISSION)
      if (field !== undefined && data?.repository) {
        const permission = READ_PERMISSION[field] ?? ''
        if (!facts.refusedReads.some((r) => r.permission === permission))
          facts.refusedReads.push({
            permission,
            error: `GitHub refused to read ${field}: ${x.message ?? x.type ?? 'forbidden'}.`
          })
      }
    }
    if (!data?.repository) {
      facts.unreachable = e.errors?.map((x) => x.message).join('; ') ?? e.message ?? String(error)
      facts.viewer = data?.viewer?.login ?? null
      return facts
    }
  }
  facts.viewer = data?.viewer?.login ?? null
  const r = data?.repository
  if (!r) {
    facts.unreachable = 'not found, or the token cannot see it'
    return facts
  }
  facts.labels = [
    { name: options.labels.ready, exists: !!r.ready },
    { name: options.labels.inProgress, exists: !!r.inProgress },
    { name: options.labels.human, exists: !!r.human }
  ]

  facts.writes.push(
    await probeWrite('issues: write', 'create labels, comment, close issues', () =>
      writer.request('POST /repos/{owner}/{repo}/labels', {
        owner: repo.owner,
        repo: repo.name,
        name: ''
      })
    )
  )
  if (options.workflowFile) {
    const file = options.workflowFile
    facts.writes.push(
      await probeWrite('actions: write', `dispatch and cancel ${file}`, () =>
        writer.request('POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches', {
          owner: repo.owner,
          repo: repo.name,
          workflow_id: file,
          ref: 'refs/heads/afk-loop-check/this-ref-does-not-exist',
          inputs: {}
        })
      )
    )
  }
  return facts
}

/**
 * A write request that can't succeed: 403 means the permission is missing,
 * 422 (or 404 for a missing workflow) means GitHub got past the permission.
 */
async function probeWrite(
  permission: string,
  what: string,
  send: () => Promise<unknown>
): Promise<RepoFacts['writes'][number]> {
  try {
    await send()
    return {
      permission,
      allowed: null,
      detail: 'GitHub accepted a request it should have refused; the probe cannot tell.'
    }
  } catch (error) {
    const status = (error as { status?: number }).status
    if (status === 422 || status === 400) {
      return {
        permission,
        allowed: true,
        detail: `the token may ${what} (probed without writing).`
      }
    }
    const denied = asPermissionError(error, permission, what)
    if (denied) {
      const headers = (error as { response?: { headers?: Record<string, string> } }).response
        ?.headers
      const named = acceptedPermission(headers?.['x-accepted-github-permissions'])
      return {
        permission,
        allowed: false,
        detail: `GitHub refused (HTTP ${denied.status}${named ? `, it accepts ${named}` : ''}): the token may not ${what}.`
      }
    }
    return {
      permission,
      allowed: null,
      detail: `the probe could not tell (${status ? `HTTP ${status}: ` : ''}${(error as Error).message ?? String(error)}).`
    }
  }
}

/** The workflow's own repository (`GITHUB_REPOSITORY`), for the schedule's risk. */
export async function probeSchedule(
  clients: GitHubClients,
  fullName: string
): Promise<ScheduleFacts | { error: string }> {
  const [owner = '', repo = ''] = fullName.split('/')
  try {
    const res = await clients.reader.request('GET /repos/{owner}/{repo}', { owner, repo })
    return { repo: fullName, isPrivate: res.data.private, pushedAt: res.data.pushed_at ?? null }
  } catch (error) {
    return { error: (error as Error).message ?? String(error) }
  }
}
