/**
 * The dashboard issue's GitHub side: find it, create it, rewrite its body,
 * and learn the association of whoever edited it.
 *
 * - Find: one query per repository (1 point: a 20-issue connection) for the
 *   open issues the loop's identity opened (`filterBy.createdBy`, the login
 *   `viewer` shows, e.g. `name[bot]`; GitHub Enterprise Cloud has been seen
 *   not to match app logins there, in which case a second dashboard would be
 *   opened). Only an issue the loop authored (`viewerDidAuthor`) carrying the
 *   marker counts. The body's editors since the loop's own last edit come
 *   from `editor` and `userContentEdits`, as GitHub's schema names them.
 * - Who an editor is to the repository: GraphQL has no association for an
 *   editor, so the REST collaborator permission endpoint (`GET
 *   /repos/{o}/{r}/collaborators/{user}/permission`, `metadata: read`, no
 *   GraphQL points) answers it, mapped with {@link associationFromPermission}.
 *   It is asked only when someone other than the loop edited the body.
 */
import { z } from 'zod'
import type { AuthorAssociation, RepoRef } from '../config.js'
import type { DashboardIssue } from '../loop/ports.js'

export const DASHBOARD_QUERY = `query($owner: String!, $name: String!, $viewer: String!) {
  rateLimit { cost remaining limit resetAt }
  repository(owner: $owner, name: $name) {
    id
    issues(first: 20, states: [OPEN], filterBy: { createdBy: $viewer }, orderBy: { field: CREATED_AT, direction: ASC }) {
      nodes {
        id number url body viewerDidAuthor
        editor { login }
        userContentEdits(last: 20) { nodes { editedAt editor { login } } }
      }
    }
  }
}`

export const CREATE_DASHBOARD_MUTATION = `mutation($repositoryId: ID!, $title: String!, $body: String!) {
  createIssue(input: { repositoryId: $repositoryId, title: $title, body: $body }) {
    issue { id number url }
  }
}`

/** The dashboard's body right before it is rewritten (a tick may have landed meanwhile). */
export const DASHBOARD_BODY_QUERY = `query($id: ID!) {
  rateLimit { cost remaining limit resetAt }
  node(id: $id) { ... on Issue { body } }
}`

export const UPDATE_DASHBOARD_MUTATION = `mutation($id: ID!, $body: String!) {
  updateIssue(input: { id: $id, body: $body }) { issue { id } }
}`

const login = z.object({ login: z.string() }).nullable()

export const dashboardReadSchema = z.object({
  repository: z.object({
    id: z.string(),
    issues: z.object({
      nodes: z.array(
        z
          .object({
            id: z.string(),
            number: z.number(),
            url: z.string(),
            body: z.string(),
            viewerDidAuthor: z.boolean(),
            editor: login,
            userContentEdits: z
              .object({
                nodes: z.array(
                  z.object({ editedAt: z.string().nullable(), editor: login }).nullable()
                )
              })
              .nullable()
          })
          .nullable()
      )
    })
  })
})

export type DashboardRead = z.infer<typeof dashboardReadSchema>

/**
 * The dashboard among the issues read: the first the loop authored whose
 * body carries the marker, with who edited it since the loop last did.
 */
export function pickDashboard(
  read: DashboardRead,
  marker: string,
  isViewer: (login: string | null | undefined) => boolean
): { repositoryId: string; issue: DashboardIssue | null } {
  const node = read.repository.issues.nodes.find(
    (n) => n !== null && n.viewerDidAuthor && n.body.includes(marker)
  )
  if (!node) return { repositoryId: read.repository.id, issue: null }
  const editors: string[] = []
  const edits = (node.userContentEdits?.nodes ?? []).filter((e) => e !== null)
  // Newest first, back to the loop's own latest edit.
  for (const edit of [...edits].sort((a, b) =>
    (b.editedAt ?? '').localeCompare(a.editedAt ?? '')
  )) {
    const who = edit.editor?.login ?? null
    if (isViewer(who)) break
    editors.push(who ?? 'ghost')
  }
  const last = node.editor?.login ?? null
  if (last && !isViewer(last) && !editors.includes(last)) editors.unshift(last)
  return {
    repositoryId: read.repository.id,
    issue: {
      id: node.id,
      number: node.number,
      url: node.url,
      body: node.body,
      editorsSinceLoop: [...new Set(editors)]
    }
  }
}

/**
 * An association from the collaborator permission endpoint. The owner of a
 * user-owned repository is OWNER; `admin`, `maintain` and `write` are
 * COLLABORATOR (the endpoint can't tell an organisation MEMBER from an
 * outside collaborator, so never more trust than known: a list without
 * COLLABORATOR refuses them); anything less is NONE.
 */
export function associationFromPermission(
  repo: RepoRef,
  user: string,
  permission: { permission?: string; role_name?: string }
): AuthorAssociation {
  if (user.toLowerCase() === repo.owner.toLowerCase()) return 'OWNER'
  const role = permission.role_name ?? permission.permission ?? 'none'
  return ['admin', 'maintain', 'write'].includes(role) ? 'COLLABORATOR' : 'NONE'
}
