/**
 * The dashboard issue's GitHub side: find it, create it, rewrite its body,
 * and learn the association of whoever edited it.
 *
 * - Find, by its label first: one query per repository (1 point) for the
 *   issues carrying {@link DASHBOARD_LABEL}, open or closed. Only an issue
 *   the loop authored (`viewerDidAuthor`) carrying the marker counts, an open
 *   one before a closed one. The label is the loop's own index, the way its
 *   tracking label is for runs: it doesn't depend on who the viewer is, so it
 *   holds where `filterBy.createdBy` doesn't — GitHub Enterprise Cloud
 *   matches no GitHub App login there (renovatebot/renovate#44730), and
 *   GITHUB_TOKEN's `github-actions[bot]` is shared with every other workflow,
 *   whose issues can fill any page of "issues by the viewer".
 * - Used only when the label finds nothing: the first 20 open issues the
 *   viewer opened (`filterBy.createdBy`), exactly what earlier releases
 *   looked at, so any dashboard they found is found again (and one whose
 *   label a maintainer removed); the next write gives it the label. It rides
 *   in the same query at no extra point (42 requests to fill, still 1
 *   point), which keeps every tick's points the same whether or not it is
 *   needed — a second request on some ticks would change the "points spent"
 *   line and so rewrite the dashboard on the next quiet tick. On GHEC it
 *   finds nothing, and only there can a dashboard without its label be
 *   missed (and a new one opened).
 * - A closed dashboard is reopened by the next write, not replaced: its
 *   switches (pause, hand back) and endings carry over. Turning it off is
 *   `dashboard: false`.
 * - The body's editors since the loop's own last edit come from `editor` and
 *   `userContentEdits`, as GitHub's schema names them.
 * - Who an editor is to the repository: GraphQL has no association for an
 *   editor, so the REST collaborator permission endpoint (`GET
 *   /repos/{o}/{r}/collaborators/{user}/permission`, `metadata: read`, no
 *   GraphQL points) answers it, mapped with {@link associationFromPermission}.
 *   It is asked only when someone other than the loop edited the body.
 */
import { z } from 'zod'
import type { AuthorAssociation, RepoRef } from '../config.js'
import type { DashboardIssue } from '../loop/ports.js'

/** The label the loop finds its dashboard by (created with the dashboard, only when `dashboard: true`). */
export const DASHBOARD_LABEL = 'afk-loop-dashboard'
export const DASHBOARD_LABEL_LOOK = {
  color: '5319e7',
  description: 'The afk-loop dashboard: the loop finds its dashboard issue by this label'
} as const

const ISSUE_FIELDS = `id number url body state viewerDidAuthor
        editor { login }
        userContentEdits(last: 20) { nodes { editedAt editor { login } } }`

/**
 * The dashboard, by its label (open or closed) and, beside it, among the
 * first 20 open issues the viewer opened (what earlier releases looked at,
 * used only when the label finds nothing), and the label's id. One request,
 * 1 point: 1 + 20 + 1 + 20 = 42 requests to fill by GitHub's formula.
 */
export const DASHBOARD_QUERY = `query AfkDashboard($owner: String!, $name: String!, $label: String!, $viewer: String!) {
  rateLimit { cost remaining limit resetAt }
  repository(owner: $owner, name: $name) {
    id
    label(name: $label) { id }
    labelled: issues(first: 20, labels: [$label], orderBy: { field: CREATED_AT, direction: ASC }) {
      nodes {
        ${ISSUE_FIELDS}
      }
    }
    unlabelled: issues(first: 20, states: [OPEN], filterBy: { createdBy: $viewer }, orderBy: { field: CREATED_AT, direction: ASC }) {
      nodes {
        ${ISSUE_FIELDS}
      }
    }
  }
}`

export const CREATE_DASHBOARD_MUTATION = `mutation($repositoryId: ID!, $title: String!, $body: String!, $labelIds: [ID!]) {
  createIssue(input: { repositoryId: $repositoryId, title: $title, body: $body, labelIds: $labelIds }) {
    issue { id number url }
  }
}`

/** The dashboard's body right before it is rewritten (a tick may have landed meanwhile). */
export const DASHBOARD_BODY_QUERY = `query($id: ID!) {
  rateLimit { cost remaining limit resetAt }
  node(id: $id) { ... on Issue { body } }
}`

/**
 * One write for whatever the dashboard needs: its new body, reopening, its
 * label back. `updateIssue`'s own `labelIds` would replace every label, so
 * the label is added beside it.
 */
export function updateDashboardMutation(change: {
  body: boolean
  reopen: boolean
  label: boolean
}): string | null {
  const vars = ['$id: ID!']
  const fields: string[] = []
  const input: string[] = ['id: $id']
  if (change.body) {
    vars.push('$body: String!')
    input.push('body: $body')
  }
  if (change.reopen) input.push('state: OPEN')
  if (input.length > 1)
    fields.push(`update: updateIssue(input: { ${input.join(', ')} }) { issue { id } }`)
  if (change.label) {
    vars.push('$label: ID!')
    fields.push(
      'label: addLabelsToLabelable(input: { labelableId: $id, labelIds: [$label] }) { clientMutationId }'
    )
  }
  if (fields.length === 0) return null
  return `mutation AfkDashboardWrite(${vars.join(', ')}) {\n  ${fields.join('\n  ')}\n}`
}

const login = z.object({ login: z.string() }).nullable()

const issueNode = z
  .object({
    id: z.string(),
    number: z.number(),
    url: z.string(),
    body: z.string(),
    state: z.string(),
    viewerDidAuthor: z.boolean(),
    editor: login,
    userContentEdits: z
      .object({
        nodes: z.array(z.object({ editedAt: z.string().nullable(), editor: login }).nullable())
      })
      .nullable()
  })
  .nullable()

const issues = z.object({ nodes: z.array(issueNode) })

export const dashboardReadSchema = z.object({
  repository: z.object({
    id: z.string(),
    label: z.object({ id: z.string() }).nullable(),
    labelled: issues,
    unlabelled: issues
  })
})

export type DashboardRead = z.infer<typeof dashboardReadSchema>
/** One list of issues read, for {@link pickDashboard}. */
export type DashboardNodes = z.infer<typeof issues>['nodes']

/**
 * The dashboard among the issues read: the first the loop authored whose
 * body carries the marker, an open one before a closed one, with who edited
 * it since the loop last did. `labelled`: whether it was read by its label.
 */
export function pickDashboard(
  nodes: DashboardNodes,
  marker: string,
  isViewer: (login: string | null | undefined) => boolean,
  labelled: boolean
): DashboardIssue | null {
  const mine = nodes.filter(
    (n): n is NonNullable<typeof n> => n !== null && n.viewerDidAuthor && n.body.includes(marker)
  )
  const node = mine.find((n) => n.state === 'OPEN') ?? mine.at(-1)
  if (!node) return null
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
    id: node.id,
    number: node.number,
    url: node.url,
    body: node.body,
    editorsSinceLoop: [...new Set(editors)],
    labelled,
    closed: node.state === 'CLOSED'
  }
}

/** What {@link findDashboard} learned about one repository. */
export interface FoundDashboard {
  repositoryId: string
  /** The dashboard label's node id, or null when the repository has no such label. */
  labelId: string | null
  issue: DashboardIssue | null
}

/**
 * Find the loop's dashboard in one repository (one query): by its label, or
 * else among the open issues the viewer opened. Reads only; `read` runs the
 * query and returns its data (the adapter counts the points, `mode: check`
 * just reads).
 */
export async function findDashboard(
  read: (document: string, variables: Record<string, unknown>) => Promise<unknown>,
  repo: RepoRef,
  viewer: string,
  marker: string,
  isViewer: (login: string | null | undefined) => boolean
): Promise<FoundDashboard> {
  const parsed = dashboardReadSchema.safeParse(
    await read(DASHBOARD_QUERY, {
      owner: repo.owner,
      name: repo.name,
      label: DASHBOARD_LABEL,
      viewer
    })
  )
  if (!parsed.success) {
    const first = parsed.error.issues[0]
    throw new Error(
      `GitHub answered in an unexpected shape at ${first?.path.join('.') ?? '?'}: ${first?.message ?? ''}`
    )
  }
  const r = parsed.data.repository
  return {
    repositoryId: r.id,
    labelId: r.label?.id ?? null,
    issue:
      pickDashboard(r.labelled.nodes, marker, isViewer, true) ??
      pickDashboard(r.unlabelled.nodes, marker, isViewer, false)
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
