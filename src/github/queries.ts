/**
 * The GraphQL documents the adapter sends. Each is a constant or built by a
 * small function so a test can validate every shape against GitHub's schema
 * (`@octokit/graphql-schema`).
 *
 * GitHub prices a query by the page sizes it asks for, not by what comes
 * back (docs/reference/github-graphql-costs.md): every connection costs the
 * product of the `first`/`last` of the connections above it, summed, / 100,
 * rounded, at least 1. So the world is read in two kinds of request, which
 * the adapter pipelines (a census page and the details of the previous
 * page's issues travel in one request):
 * - the census (`worldQuery` with repositories): per repository, the ids of
 *   the issues carrying the in-progress label, of those carrying the
 *   loop's tracking label (a run whose in-progress label a human removed,
 *   an ended run whose doorbell is still owed), of the first ready issues,
 *   and (trunk delivery) the default branch's recent commits — flat lists,
 *   1 request each, however many issues a page holds;
 * - the details (`worldQuery` with ids): `nodes(ids:)` is not a connection,
 *   so the connections inside each issue (labels, timeline, comments,
 *   closing pull requests — the first ten — and their head commit's CI) are
 *   priced as if there were one issue: about 20 requests for up to 100 issues.
 * A quiet repository costs one census request: 1 point. Unrelated issues are
 * never read.
 *
 * CI is read for the head commit of each closing pull request and for trunk
 * commits that reference a tracked issue: the only commits that can be a
 * run's work. A rollup longer than a page is read to the end with
 * `rollupQuery`.
 */

const CONTEXTS = `
  totalCount
  pageInfo { hasNextPage endCursor }
  nodes {
    __typename
    ... on CheckRun {
      name status conclusion detailsUrl databaseId startedAt
      checkSuite { app { databaseId } }
    }
    ... on StatusContext { context state targetUrl createdAt }
  }`

const CHECKS = `
  id
  statusCheckRollup {
    state
    contexts(first: 100) { ${CONTEXTS} }
  }
  checkSuites(first: 100) { nodes { status conclusion workflowRun { url } } }`

const COMMENT = `
  id databaseId url body viewerDidAuthor isMinimized
  author { login }
  editor { login }`

/** A pull request that closes an issue: the facts evidence reads, and its head's CI. */
const PULL = `
  number url headRefName headRefOid state isDraft createdAt mergedAt mergeCommit { oid }
  isCrossRepository headRepository { nameWithOwner } authorAssociation
  author { login }
  commits(last: 1) { nodes { commit { oid ${CHECKS} } } }`

const ISSUE = `
  id number title body url state createdAt updatedAt authorAssociation
  author { login }
  labels(first: 100) { nodes { name } }
  timelineItems(last: 50, itemTypes: [LABELED_EVENT, UNLABELED_EVENT, CLOSED_EVENT]) {
    nodes {
      __typename
      ... on LabeledEvent { createdAt actor { login } label { name } }
      ... on UnlabeledEvent { createdAt actor { login } label { name } }
      ... on ClosedEvent {
        createdAt actor { login }
        closer { __typename ... on PullRequest { number url } ... on Commit { oid url } }
      }
    }
  }
  comments(first: 100) {
    pageInfo { hasNextPage endCursor }
    nodes { ${COMMENT} }
  }
  closedByPullRequestsReferences(first: 10, includeClosedPrs: true) {
    pageInfo { hasNextPage endCursor }
    nodes { ${PULL} }
  }`

const IDS = `totalCount pageInfo { hasNextPage endCursor } nodes { id number }`

/** What one census request asks of one repository. */
export interface CensusPart {
  /** The first request for this repository: labels, default branch, trunk, ready issues. */
  first: boolean
  /** Read a page of the in-progress issues (after this cursor; null = the first page). */
  inProgress?: string | null
  /** Read a page of the issues carrying the tracking label. */
  tracked?: string | null
}

/** The shape of one world request: census parts per repository (by index) and/or details. */
export interface WorldShape {
  repos: (CensusPart | null)[]
  /** Read the details of issues and commits by id (`$ids`). */
  details: boolean
}

/**
 * One world request. Variables: `$o<i>`/`$n<i>` owner and name of
 * repository i, `$ip<i>`/`$tr<i>` its page cursors, `$ready<i>` how many
 * ready issues to list; shared label names, `$withTrunk`, `$trunkSince`, `$ids`.
 */
export function worldQuery(shape: WorldShape): string {
  const vars: string[] = []
  const shared = new Set<string>()
  const fields: string[] = ['viewer { login }', 'rateLimit { cost remaining resetAt limit used }']
  let first = false
  shape.repos.forEach((part, i) => {
    if (!part) return
    vars.push(`$o${i}: String!`, `$n${i}: String!`)
    const inner: string[] = []
    if (part.first) {
      first = true
      shared.add('$inProgressLabel: String!').add('$trackedLabel: String!')
      vars.push(`$ready${i}: Int!`)
      inner.push(
        `defaultBranchRef { name target { ... on Commit { history(since: $trunkSince, first: 100) @include(if: $withTrunk) { nodes { id oid url message committedDate } } } } }`,
        'inProgressLabel: label(name: $inProgressLabel) { id name }',
        'trackedLabel: label(name: $trackedLabel) { id name }',
        'readyLabel: label(name: $readyLabel) { id name }',
        'humanLabel: label(name: $humanLabel) { id name }',
        `ready: issues(first: $ready${i}, labels: [$readyLabel], states: [OPEN], orderBy: { field: CREATED_AT, direction: ASC }) { ${IDS} }`
      )
    }
    if (part.inProgress !== undefined) {
      shared.add('$inProgressLabel: String!')
      vars.push(`$ip${i}: String`)
      inner.push(
        `inProgress: issues(first: 100, after: $ip${i}, labels: [$inProgressLabel], states: [OPEN, CLOSED], orderBy: { field: CREATED_AT, direction: ASC }) { ${IDS} }`
      )
    }
    if (part.tracked !== undefined) {
      shared.add('$trackedLabel: String!')
      vars.push(`$tr${i}: String`)
      inner.push(
        `tracked: issues(first: 100, after: $tr${i}, labels: [$trackedLabel], states: [OPEN, CLOSED], orderBy: { field: CREATED_AT, direction: ASC }) { ${IDS} }`
      )
    }
    fields.push(
      `r${i}: repository(owner: $o${i}, name: $n${i}) {\n    ${inner.join('\n    ')}\n  }`
    )
  })
  vars.unshift(...shared)
  if (first) {
    vars.push('$readyLabel: String!', '$humanLabel: String!')
    vars.push('$withTrunk: Boolean!', '$trunkSince: GitTimestamp!')
  }
  if (shape.details) {
    vars.push('$ids: [ID!]!')
    fields.push(
      `details: nodes(ids: $ids) {\n    __typename\n    ... on Issue { ${ISSUE} }\n    ... on Commit { oid url message committedDate ${CHECKS} }\n  }`
    )
  }
  return `query AfkWorld(${vars.join(', ')}) {\n  ${fields.join('\n  ')}\n}`
}

/** The rest of long status check rollups: one alias per commit (`$c<i>` node id, `$a<i>` cursor). */
export function rollupQuery(count: number): string {
  const vars: string[] = []
  const fields: string[] = ['rateLimit { cost remaining resetAt limit used }']
  for (let i = 0; i < count; i++) {
    vars.push(`$c${i}: ID!`, `$a${i}: String`)
    fields.push(
      `c${i}: node(id: $c${i}) { ... on Commit { statusCheckRollup { contexts(first: 100, after: $a${i}) { ${CONTEXTS} } } } }`
    )
  }
  return `query AfkRollup(${vars.join(', ')}) {\n  ${fields.join('\n  ')}\n}`
}

/**
 * The default branch's recent history on its own: read when the delivery
 * input isn't trunk but a run claimed under trunk delivery is still in
 * flight (the delivery recorded at the claim rules the run to its end).
 */
export const TRUNK_QUERY = `
query AfkTrunk($owner: String!, $name: String!, $trunkSince: GitTimestamp!) {
  rateLimit { cost remaining resetAt limit used }
  repository(owner: $owner, name: $name) {
    defaultBranchRef {
      target {
        ... on Commit {
          history(since: $trunkSince, first: 100) {
            nodes { oid url message committedDate ${CHECKS} }
          }
        }
      }
    }
  }
}`

/**
 * The rest of an issue's closing pull requests, read only when the first ten
 * didn't hold them all (25 a page, a bounded number of pages): anyone can
 * open pull requests that say "Closes #N"; those beyond the last page read
 * are not seen — the run's own are then found by {@link OWN_PULLS_QUERY}.
 */
export const PULLS_QUERY = `
query AfkPulls($id: ID!, $after: String) {
  rateLimit { cost remaining resetAt limit used }
  node(id: $id) {
    ... on Issue {
      closedByPullRequestsReferences(first: 25, after: $after, includeClosedPrs: true) {
        pageInfo { hasNextPage endCursor }
        nodes { ${PULL} }
      }
    }
  }
}`

/**
 * The run's own pull requests found without the issue's closing list, read
 * only when that list was longer than the adapter pages through: the pull
 * requests whose head is the run's branch *in this repository*
 * (`ref(qualifiedName:)` names a ref of the repository itself, and its
 * `associatedPullRequests` are those with that ref as their head, so a
 * fork's pull request from a branch of the same name is not among them — an
 * outsider can't crowd this list), open or merged, newest first; and the
 * pull request that closed the issue, by number, when it is one. About 20
 * requests by GitHub's formula: 1 point.
 */
export const OWN_PULLS_QUERY = `
query AfkOwnPulls($owner: String!, $name: String!, $branch: String!, $closer: Int!, $withCloser: Boolean!) {
  rateLimit { cost remaining resetAt limit used }
  repository(owner: $owner, name: $name) {
    ref(qualifiedName: $branch) {
      associatedPullRequests(first: 5, states: [OPEN, MERGED], orderBy: { field: CREATED_AT, direction: DESC }) {
        nodes { ${PULL} }
      }
    }
    closer: pullRequest(number: $closer) @include(if: $withCloser) { ${PULL} }
  }
}`

/** The rest of a long comment thread, for an issue whose status comment wasn't on the first page. */
export const COMMENTS_QUERY = `
query AfkComments($id: ID!, $after: String) {
  rateLimit { cost remaining resetAt limit used }
  node(id: $id) {
    ... on Issue {
      comments(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { ${COMMENT} }
      }
    }
  }
}`

/** The status comment's body right before overwriting it (intent writes). */
export const COMMENT_BODY_QUERY = `
query AfkCommentBody($id: ID!) {
  rateLimit { cost remaining resetAt limit used }
  node(id: $id) { ... on IssueComment { body } }
}`

/**
 * The loop's most recent comments on an issue, to find a notice it may have
 * posted before a tick died (`notify-mention`): the lookup of a keyed effect.
 */
export const NOTICE_QUERY = `
query AfkNotice($id: ID!) {
  rateLimit { cost remaining resetAt limit used }
  node(id: $id) {
    ... on Issue {
      comments(last: 30) { nodes { body viewerDidAuthor } }
    }
  }
}`

/** The mutations one run's change may need, in the order GitHub runs them. */
export interface MutationParts {
  addComment?: boolean
  updateComment?: boolean
  addLabels?: boolean
  removeLabels?: boolean
  close?: boolean
}

/**
 * One mutation document carrying all of one run's writes: a claim or a
 * terminal action is one request. Aliases name each part so its result can be
 * checked on its own.
 */
export function changeMutation(parts: MutationParts): string {
  const vars: string[] = []
  const fields: string[] = []
  if (parts.addComment || parts.addLabels || parts.removeLabels || parts.close) {
    vars.push('$issue: ID!')
  }
  if (parts.addComment) {
    vars.push('$body: String!')
    fields.push(
      'comment: addComment(input: { subjectId: $issue, body: $body }) { commentEdge { node { id } } }'
    )
  } else if (parts.updateComment) {
    vars.push('$commentId: ID!', '$body: String!')
    fields.push(
      'comment: updateIssueComment(input: { id: $commentId, body: $body }) { issueComment { id } }'
    )
  }
  if (parts.addLabels) {
    vars.push('$addLabels: [ID!]!')
    fields.push(
      'addLabels: addLabelsToLabelable(input: { labelableId: $issue, labelIds: $addLabels }) { clientMutationId }'
    )
  }
  if (parts.removeLabels) {
    vars.push('$removeLabels: [ID!]!')
    fields.push(
      'removeLabels: removeLabelsFromLabelable(input: { labelableId: $issue, labelIds: $removeLabels }) { clientMutationId }'
    )
  }
  if (parts.close) {
    fields.push('close: closeIssue(input: { issueId: $issue }) { issue { state } }')
  }
  return `mutation AfkChange(${vars.join(', ')}) {\n  ${fields.join('\n  ')}\n}`
}
