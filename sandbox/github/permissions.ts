/**
 * What a token may do in the loopback GitHub, the way GitHub Apps, the
 * workflow's `GITHUB_TOKEN` and fine-grained tokens are limited: a set of
 * repository permissions (`issues: write`, `actions: read`, …). A token the
 * sandbox has no permissions for may do everything (like a classic PAT with
 * the `repo` scope).
 *
 * What GitHub answers when a permission is missing, and so what this answers:
 * - REST: 403 `{"message": "Resource not accessible by integration"}` with the
 *   header `x-accepted-github-permissions: issues=write` naming what the route
 *   accepts — checked before the request body is validated, so a request
 *   with an invalid body answers 403 without the permission and 422 with it.
 * - GraphQL mutations: 200, the refused field `null`, and an error of
 *   `type: FORBIDDEN` whose `path` is the field's alias.
 */
export type Access = 'read' | 'write'
export type PermissionName =
  'issues' | 'pull_requests' | 'contents' | 'checks' | 'statuses' | 'actions' | 'metadata'
export type TokenPermissions = Partial<Record<PermissionName, Access>>

export interface Needed {
  name: PermissionName
  access: Access
}

/** The permission each REST route the loop uses needs (GitHub's "Permissions required for GitHub Apps"). */
const REST_PERMISSIONS: Readonly<Record<string, Needed>> = {
  'GET /repos/{owner}/{repo}': { name: 'metadata', access: 'read' },
  'GET /repos/{owner}/{repo}/labels/{name}': { name: 'issues', access: 'read' },
  'GET /repos/{owner}/{repo}/issues/{issue_number}': { name: 'issues', access: 'read' },
  'POST /repos/{owner}/{repo}/labels': { name: 'issues', access: 'write' },
  'GET /repos/{owner}/{repo}/collaborators/{username}/permission': {
    name: 'metadata',
    access: 'read'
  },
  'GET /repos/{owner}/{repo}/contents/{path}': { name: 'contents', access: 'read' },
  'POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches': {
    name: 'actions',
    access: 'write'
  },
  'GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}': { name: 'actions', access: 'read' },
  'GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs': {
    name: 'actions',
    access: 'read'
  },
  'GET /repos/{owner}/{repo}/actions/runs/{run_id}': { name: 'actions', access: 'read' },
  'POST /repos/{owner}/{repo}/actions/runs/{run_id}/cancel': { name: 'actions', access: 'write' }
}

/** Every issue mutation the loop sends needs `issues: write`. */
const MUTATIONS = [
  'addComment',
  'updateIssueComment',
  'addLabelsToLabelable',
  'removeLabelsFromLabelable',
  'closeIssue',
  'createIssue',
  'updateIssue'
] as const

export function restPermission(method: string, template: string): Needed | null {
  return REST_PERMISSIONS[`${method} ${template}`] ?? null
}

/** Whether `granted` covers `needed` (write implies read; metadata is always readable). */
export function allows(granted: TokenPermissions | undefined, needed: Needed | null): boolean {
  if (!granted || !needed) return true
  if (needed.name === 'metadata') return true
  const have = granted[needed.name]
  return have === 'write' || (have === 'read' && needed.access === 'read')
}

/** The 403 GitHub answers a token without the permission a REST route needs. */
export function restRefusal(needed: Needed): {
  status: 403
  body: unknown
  headers: Record<string, string>
} {
  return {
    status: 403,
    body: {
      message: 'Resource not accessible by integration',
      documentation_url: 'https://docs.github.com/rest',
      status: '403'
    },
    headers: { 'x-accepted-github-permissions': `${needed.name}=${needed.access}` }
  }
}

/**
 * A mutation document's fields that `granted` may not run, by alias (or name),
 * with GitHub's answer for them: `null` data and a FORBIDDEN error each.
 */
export function refusedMutations(
  query: string,
  granted: TokenPermissions | undefined
): { aliases: string[]; errors: unknown[] } | null {
  if (allows(granted, { name: 'issues', access: 'write' })) return null
  const aliases: string[] = []
  const pattern = new RegExp(`(?:(\\w+)\\s*:\\s*)?\\b(${MUTATIONS.join('|')})\\s*\\(`, 'g')
  for (const match of query.matchAll(pattern)) aliases.push(match[1] ?? match[2] ?? '')
  if (aliases.length === 0) return null
  return {
    aliases,
    errors: aliases.map((alias) => ({
      type: 'FORBIDDEN',
      path: [alias],
      locations: [],
      message: 'Resource not accessible by integration'
    }))
  }
}

/** The fields of a read that need a permission, and which (as GitHub checks them). */
const READ_FIELDS: readonly { pattern: RegExp; field: string; needed: Needed }[] = [
  { pattern: /\bissues?\s*\(/, field: 'issues', needed: { name: 'issues', access: 'read' } },
  {
    pattern: /\b(?:pullRequests|closedByPullRequestsReferences)\s*\(/,
    field: 'pullRequests',
    needed: { name: 'pull_requests', access: 'read' }
  },
  {
    pattern: /\b(?:statusCheckRollup|checkSuites)\b/,
    field: 'statusCheckRollup',
    needed: { name: 'checks', access: 'read' }
  },
  { pattern: /\bhistory\s*\(/, field: 'history', needed: { name: 'contents', access: 'read' } }
]

/**
 * A read selecting something `granted` may not read: GitHub answers the
 * refused field with a FORBIDDEN error, and because these connections are
 * non-null the `repository` itself comes back null. (This stand-in nulls the
 * repository for every refused field, nullable or not: never more lenient.)
 */
export function refusedRead(
  query: string,
  granted: TokenPermissions | undefined
): { data: unknown; errors: unknown[] } | null {
  if (!granted) return null
  const refused = READ_FIELDS.filter((f) => f.pattern.test(query) && !allows(granted, f.needed))
  if (refused.length === 0) return null
  return {
    data: { repository: null },
    errors: refused.map((f) => ({
      type: 'FORBIDDEN',
      path: ['repository', f.field],
      locations: [],
      message: 'Resource not accessible by integration'
    }))
  }
}
