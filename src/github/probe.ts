/**
 * `mode: check`'s reads of GitHub: what the token can see and do in each
 * allowlisted repository, without writing anything.
 *
 * - `CHECK_QUERY`: the viewer, whether the repository is visible, and the
 *   three labels. Then one one-item read per permission the features read
 *   with (`READ_QUERIES`: issues, pull requests, CI of the default branch's
 *   head, its history), each on its own so one refusal hides no other.
 * - Writes are probed with requests GitHub refuses either way: without the
 *   permission it answers 403 (naming it in `x-accepted-github-permissions`);
 *   with it, the request is invalid and answered 422 — before anything is
 *   written. `issues: write`: create a label with an empty name.
 *   `actions: write`: dispatch the agent workflow on a ref that can't exist.
 * - With `dashboard: true`: the dashboard, by the lookup a tick makes
 *   (github/dashboard.ts: its label, else the viewer's open issues; 1
 *   point), and whether its label exists. Reads only.
 * - The workflow's own repository, for the schedule's 60-day risk.
 */
import type { Config, RepoRef } from '../config.js'
import type { RepoFacts, ScheduleFacts } from '../core/check.js'
import { DASHBOARD_MARKER } from '../core/dashboard.js'
import { sameIdentity } from './adapter.js'
import type { GitHubClients } from './client.js'
import { DASHBOARD_LABEL, findDashboard } from './dashboard.js'
import { acceptedPermission, asPermissionError } from './errors.js'

/** Reach, the viewer and the three labels (labels need only metadata). */
export const CHECK_QUERY = `query AfkCheck($owner: String!, $name: String!, $ready: String!, $inProgress: String!, $human: String!) {
  viewer { login }
  repository(owner: $owner, name: $name) {
    nameWithOwner
    ready: label(name: $ready) { name }
    inProgress: label(name: $inProgress) { name }
    human: label(name: $human) { name }
  }
}`

/**
 * One small read per permission the loop reads with, each its own query: a
 * refused non-null field nulls the whole repository in GitHub's answer, so
 * reads asked together would hide each other.
 */
export const READ_QUERIES: Readonly<Record<string, string>> = {
  'issues: read': `query AfkCheckIssues($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) { issues(first: 1) { totalCount } }
}`,
  'pull-requests: read': `query AfkCheckPulls($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) { pullRequests(first: 1) { totalCount } }
}`,
  'checks: read': `query AfkCheckCI($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) {
    defaultBranchRef { target { ... on Commit { statusCheckRollup { state } } } }
  }
}`,
  'contents: read': `query AfkCheckHistory($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) {
    defaultBranchRef { target { ... on Commit { history(first: 1) { totalCount } } } }
  }
}`
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

interface GraphQLFailure {
  data?: unknown
  errors?: { type?: string; path?: (string | number)[]; message?: string }[]
  message?: string
}

export interface ProbeOptions {
  labels: { ready: string; inProgress: string; human: string }
  /** The permissions to test by reading (keys of READ_QUERIES). */
  reads: readonly string[]
  /** Probe `actions: write` by dispatching this workflow on a ref that can't exist. */
  workflowFile: string | null
  /** Look for the dashboard issue and its label (`dashboard: true`). */
  dashboard?: boolean
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
    const e = error as GraphQLFailure
    data = (e.data as CheckData | undefined) ?? null
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
  for (const permission of options.reads) {
    const document = READ_QUERIES[permission]
    if (!document) continue
    try {
      await reader.graphql(document, { owner: repo.owner, name: repo.name })
    } catch (error) {
      const e = error as GraphQLFailure
      const detail = e.errors?.map((x) => x.message ?? x.type).join('; ') ?? e.message
      facts.refusedReads.push({
        permission,
        error: `GitHub refused the read (${detail ?? String(error)}).`
      })
    }
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
  if (options.dashboard) facts.dashboard = await probeDashboard(clients, repo, facts.viewer)
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

/** The dashboard as a tick would find it, and its label; never throws. */
async function probeDashboard(
  clients: GitHubClients,
  repo: RepoRef,
  viewer: string | null
): Promise<NonNullable<RepoFacts['dashboard']>> {
  if (viewer === null) return { error: 'the identity the token acts as is unknown.' }
  try {
    const found = await findDashboard(
      (document, variables) => clients.reader.graphql(document, variables),
      repo,
      viewer,
      DASHBOARD_MARKER,
      (login) => sameIdentity(login, viewer)
    )
    return {
      label: { name: DASHBOARD_LABEL, exists: found.labelId !== null },
      issue: found.issue && {
        number: found.issue.number,
        url: found.issue.url,
        labelled: found.issue.labelled,
        closed: found.issue.closed
      }
    }
  } catch (error) {
    const e = error as GraphQLFailure
    return {
      error: e.errors?.map((x) => x.message ?? x.type).join('; ') ?? e.message ?? String(error)
    }
  }
}

/**
 * A write request that can't succeed: 403 means the permission is missing,
 * 422 (or 400) means GitHub got past the permission and refused the request
 * itself. Anything else — a 404 for a workflow file that isn't there, a
 * 5xx, a request GitHub unexpectedly accepted — can't tell, and is reported
 * as such (the line is skipped, never passed).
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

/** The permissions the chosen features read with, for `mode: check`. */
export function neededReads(config: Pick<Config, 'delivery'>): string[] {
  return [
    'issues: read',
    'pull-requests: read',
    'checks: read',
    ...(config.delivery === 'trunk' ? ['contents: read'] : [])
  ]
}
