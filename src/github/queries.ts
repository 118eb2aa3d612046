/**
 * The GraphQL documents the adapter sends. Each is a constant so a test can
 * validate it against GitHub's schema (`@octokit/graphql-schema`).
 *
 * One `WORLD_QUERY` per page reads a whole repository: the viewer, the rate
 * limit, the loop's label ids, the default branch's recent history (trunk
 * delivery), and three issue connections paginated in lockstep:
 * - `inProgress`: issues carrying the in-progress label (open or closed),
 * - `recent`: issues updated within the tracking window (a run whose label a
 *   human removed; an ended run whose doorbell is still being retried) — only
 *   those with a status comment by the loop are tracked,
 * - `ready`: open issues carrying the ready label (candidates).
 * `@include` switches a connection off once it has no next page, so N issues
 * cost ceil(N/100) requests, not three times that.
 *
 * Worst-case nodes per request (GitHub's limit is 500,000): per issue 50
 * labels + 20 timeline items + 50 comments + 5 pull requests × (1 commit ×
 * (50 contexts + 20 suites)) = 470; × 100 issues × 3 connections = 141,000;
 * plus 100 trunk commits × 70 = 7,000. About 148,000.
 */

const CHECKS = `
  statusCheckRollup {
    state
    contexts(first: 50) {
      nodes {
        __typename
        ... on CheckRun { name status conclusion detailsUrl }
        ... on StatusContext { context state targetUrl }
      }
    }
  }
  checkSuites(first: 20) { nodes { status conclusion workflowRun { url } } }`

const COMMENT = `
  id databaseId url body viewerDidAuthor isMinimized
  author { login }
  editor { login }`

/** A pull request that closes an issue: the facts evidence reads, and its head's CI. */
const PULL = `
  number url headRefName headRefOid state isDraft createdAt mergedAt
  isCrossRepository headRepository { nameWithOwner } authorAssociation
  author { login }
  commits(last: 1) { nodes { commit { oid ${CHECKS} } } }`

const ISSUE = `
  id number title body url state createdAt updatedAt authorAssociation
  author { login }
  labels(first: 50) { nodes { name } }
  timelineItems(last: 20, itemTypes: [LABELED_EVENT, UNLABELED_EVENT, CLOSED_EVENT]) {
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
  comments(first: 50) {
    pageInfo { hasNextPage endCursor }
    nodes { ${COMMENT} }
  }
  closedByPullRequestsReferences(first: 5, includeClosedPrs: true) {
    pageInfo { hasNextPage endCursor }
    nodes { ${PULL} }
  }`

const PAGE = `pageInfo { hasNextPage endCursor } nodes { ${ISSUE} }`

export const WORLD_QUERY = `
query AfkWorld(
  $owner: String!, $name: String!,
  $inProgressLabel: String!, $readyLabel: String!, $humanLabel: String!,
  $firstPage: Boolean!, $withTrunk: Boolean!, $trunkSince: GitTimestamp!,
  $since: DateTime!,
  $withInProgress: Boolean!, $inProgressAfter: String,
  $withRecent: Boolean!, $recentAfter: String,
  $withReady: Boolean!, $readyAfter: String
) {
  viewer { login }
  rateLimit { cost remaining resetAt }
  repository(owner: $owner, name: $name) {
    defaultBranchRef @include(if: $firstPage) {
      name
      target {
        ... on Commit {
          history(since: $trunkSince, first: 100) @include(if: $withTrunk) {
            nodes { oid url message committedDate ${CHECKS} }
          }
        }
      }
    }
    inProgressLabel: label(name: $inProgressLabel) @include(if: $firstPage) { id name }
    readyLabel: label(name: $readyLabel) @include(if: $firstPage) { id name }
    humanLabel: label(name: $humanLabel) @include(if: $firstPage) { id name }
    inProgress: issues(first: 100, after: $inProgressAfter, labels: [$inProgressLabel], states: [OPEN, CLOSED], orderBy: { field: CREATED_AT, direction: ASC }) @include(if: $withInProgress) { ${PAGE} }
    recent: issues(first: 100, after: $recentAfter, filterBy: { since: $since }, states: [OPEN, CLOSED], orderBy: { field: UPDATED_AT, direction: DESC }) @include(if: $withRecent) { ${PAGE} }
    ready: issues(first: 100, after: $readyAfter, labels: [$readyLabel], states: [OPEN], orderBy: { field: CREATED_AT, direction: ASC }) @include(if: $withReady) { ${PAGE} }
  }
}`

/**
 * The default branch's recent history on its own: read when the delivery
 * input isn't trunk but a run claimed under trunk delivery is still in
 * flight (the delivery recorded at the claim rules the run to its end).
 */
export const TRUNK_QUERY = `
query AfkTrunk($owner: String!, $name: String!, $trunkSince: GitTimestamp!) {
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
 * The rest of an issue's closing pull requests, read only when the first five
 * didn't hold them all: anyone can open pull requests that say "Closes #N",
 * and they must not push the run's own out of view.
 */
export const PULLS_QUERY = `
query AfkPulls($id: ID!, $after: String) {
  node(id: $id) {
    ... on Issue {
      closedByPullRequestsReferences(first: 25, after: $after, includeClosedPrs: true) {
        pageInfo { hasNextPage endCursor }
        nodes { ${PULL} }
      }
    }
  }
}`

/** The rest of a long comment thread, for an issue whose status comment wasn't on the first page. */
export const COMMENTS_QUERY = `
query AfkComments($id: ID!, $after: String) {
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
  node(id: $id) { ... on IssueComment { body } }
}`

/**
 * The loop's most recent comments on an issue, to find a notice it may have
 * posted before a tick died (`notify-mention`): the lookup of a keyed effect.
 */
export const NOTICE_QUERY = `
query AfkNotice($id: ID!) {
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
