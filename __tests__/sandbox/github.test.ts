/**
 * The loopback GitHub is only useful if it is as strict as GitHub: these
 * tests pin that it rejects what GitHub rejects, applies mutations like
 * GitHub does, counts requests, and injects the faults tests rely on.
 */
import { afterEach, describe, expect, it } from '@jest/globals'
import { GitHubStore, closingReferences } from '../../sandbox/github/store.js'
import { matchRoute, startGitHubSandbox, type GitHubSandbox } from '../../sandbox/github/server.js'

let sandbox: GitHubSandbox | null = null
afterEach(async () => {
  await sandbox?.close()
  sandbox = null
})

function seed(): GitHubStore {
  const store = new GitHubStore()
  store.addToken('tok-bot', 'afk-bot', { bot: true })
  store.addToken('tok-human', 'maintainer')
  store.addRepo('acme/widgets', { workflows: ['afk-agent.yml'] })
  store.addIssue('acme/widgets', { title: 'First', labels: ['ready-for-agent'] })
  return store
}

async function graphql(query: string, variables: Record<string, unknown> = {}, token = 'tok-bot') {
  const res = await fetch(sandbox?.graphqlUrl ?? '', {
    method: 'POST',
    headers: { authorization: `bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables })
  })
  return {
    status: res.status,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads arbitrary GraphQL shapes
    json: (await res.json()) as { data?: any; errors?: { message: string }[] }
  }
}

describe('the loopback GitHub', () => {
  it('executes queries against the real schema and rejects fields GitHub does not have', async () => {
    sandbox = await startGitHubSandbox({ store: seed() })
    const ok = await graphql(`
      query {
        viewer {
          login
        }
        repository(owner: "acme", name: "widgets") {
          issues(first: 10, labels: ["ready-for-agent"], states: [OPEN]) {
            nodes {
              number
              title
              labels(first: 5) {
                nodes {
                  name
                }
              }
            }
            pageInfo {
              hasNextPage
            }
          }
        }
      }
    `)
    expect(ok.json.errors).toBeUndefined()
    expect(ok.json.data.viewer.login).toBe('afk-bot[bot]')
    expect(ok.json.data.repository.issues.nodes).toEqual([
      { number: 1, title: 'First', labels: { nodes: [{ name: 'ready-for-agent' }] } }
    ])
    const bad = await graphql(
      'query { repository(owner: "acme", name: "widgets") { issues(first: 1) { nodes { notAField } } } }'
    )
    expect(bad.json.errors?.[0]?.message).toContain(
      'Cannot query field "notAField" on type "Issue"'
    )
    const tooMany = await graphql(
      'query { repository(owner: "acme", name: "widgets") { issues(first: 101) { nodes { number } } } }'
    )
    expect(tooMany.json.errors?.[0]?.message).toContain('limit of 100')
    expect(sandbox.counts['graphql-read']).toBe(3)
  })

  it('applies a mutation document in order, as the loop identity, and counts it as one write', async () => {
    const store = seed()
    sandbox = await startGitHubSandbox({ store })
    const issue = store.issue('acme/widgets', 1)
    const label = store.ensureLabel(store.repo('acme/widgets'), 'agent-in-progress')
    const ready = store.repo('acme/widgets').labels.find((l) => l.name === 'ready-for-agent')
    const result = await graphql(
      `
        mutation ($issue: ID!, $add: [ID!]!, $remove: [ID!]!) {
          c: addComment(input: { subjectId: $issue, body: "hello" }) {
            commentEdge {
              node {
                id
                viewerDidAuthor
              }
            }
          }
          a: addLabelsToLabelable(input: { labelableId: $issue, labelIds: $add }) {
            clientMutationId
          }
          r: removeLabelsFromLabelable(input: { labelableId: $issue, labelIds: $remove }) {
            clientMutationId
          }
        }
      `,
      { issue: issue.id, add: [label.id], remove: [ready?.id] }
    )
    expect(result.json.errors).toBeUndefined()
    expect(result.json.data.c.commentEdge.node.viewerDidAuthor).toBe(true)
    expect(issue.labels).toEqual(['agent-in-progress'])
    expect(issue.comments[0]?.author).toBe('afk-bot')
    expect(issue.events.map((e) => `${e.type} ${e.label} ${e.actor}`)).toEqual([
      'LabeledEvent agent-in-progress afk-bot',
      'UnlabeledEvent ready-for-agent afk-bot'
    ])
    expect(sandbox.counts['graphql-write']).toBe(1)
    expect(sandbox.writes).toBe(1)
  })

  it('matches REST calls against GitHub’s OpenAPI description', async () => {
    expect(matchRoute('POST', '/repos/a/b/labels')).toEqual({
      template: '/repos/{owner}/{repo}/labels'
    })
    expect(matchRoute('PATCH', '/repos/a/b/actions/runs/1/cancel')).toHaveProperty(
      'error',
      expect.stringContaining('wrong method')
    )
    expect(matchRoute('GET', '/repos/a/b/no-such-thing')).toHaveProperty(
      'error',
      expect.stringContaining('no such route')
    )
    sandbox = await startGitHubSandbox({ store: seed() })
    const res = await fetch(`${sandbox.url}/repos/acme/widgets/nope`, {
      headers: { authorization: 'token tok-bot' }
    })
    expect(res.status).toBe(404)
    expect(sandbox.violations).toEqual(['no such route: GET /repos/acme/widgets/nope'])
  })

  it('refuses unknown tokens and injects faults per route, then recovers', async () => {
    sandbox = await startGitHubSandbox({
      store: seed(),
      faults: [{ kind: 'graphql-read', status: 403, times: 1, retryAfter: 2 }]
    })
    expect((await graphql('query { viewer { login } }', {}, 'nope')).status).toBe(401)
    const limited = await graphql('query { viewer { login } }')
    expect(limited.status).toBe(403)
    expect(limited.json).toHaveProperty('message', expect.stringContaining('secondary rate limit'))
    expect((await graphql('query { viewer { login } }')).status).toBe(200)
    expect(sandbox.counts.faults).toBe(1)
  })

  it('kills the client right after the k-th write lands', async () => {
    const store = seed()
    let killed = 0
    sandbox = await startGitHubSandbox({ store, killAfterWrites: { k: 1, kill: () => killed++ } })
    const issue = store.issue('acme/widgets', 1)
    await expect(
      graphql(
        'mutation($id: ID!) { addComment(input: { subjectId: $id, body: "x" }) { clientMutationId } }',
        { id: issue.id }
      )
    ).rejects.toThrow()
    expect(killed).toBe(1)
    expect(issue.comments).toHaveLength(1)
  })

  it('closes an issue by a merged pull request or a "Fixes #N" trunk push, naming the closer', async () => {
    const store = seed()
    const issue = store.issue('acme/widgets', 1)
    const second = store.addIssue('acme/widgets', { title: 'Second' })
    // A commit on another branch closes nothing; a keyword not followed by #N neither.
    store.commit('acme/widgets', 'topic', 'Fixes #1', 'dev')
    store.commit('acme/widgets', 'main', 'Fix the issue (#1)', 'dev')
    expect(issue.state).toBe('OPEN')
    const fork = store.openPullRequest('acme/widgets', {
      head: 'any-name',
      author: 'drive-by',
      closes: [1],
      headRepository: 'drive-by/widgets'
    })
    store.commit('drive-by/widgets', 'any-name', 'work', 'drive-by')
    store.mergePullRequest('acme/widgets', fork.number, 'maintainer')
    const trunk = store.commit('acme/widgets', 'main', `Tidy\n\nresolves: #${second.number}`, 'dev')
    sandbox = await startGitHubSandbox({ store })
    const res = await graphql(`
      query {
        repository(owner: "acme", name: "widgets") {
          issues(first: 10, states: [CLOSED]) {
            nodes {
              number
              timelineItems(last: 5, itemTypes: [CLOSED_EVENT]) {
                nodes {
                  ... on ClosedEvent {
                    actor {
                      login
                    }
                    closer {
                      __typename
                      ... on PullRequest {
                        number
                        isCrossRepository
                        headRepository {
                          nameWithOwner
                        }
                        mergedAt
                      }
                      ... on Commit {
                        oid
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    `)
    expect(res.json.errors).toBeUndefined()
    const closers = res.json.data.repository.issues.nodes.map(
      (n: { number: number; timelineItems: { nodes: unknown[] } }) => [
        n.number,
        n.timelineItems.nodes
      ]
    )
    expect(closers).toEqual([
      [
        1,
        [
          {
            actor: { login: 'maintainer' },
            closer: {
              __typename: 'PullRequest',
              number: fork.number,
              isCrossRepository: true,
              headRepository: { nameWithOwner: 'drive-by/widgets' },
              mergedAt: expect.any(String)
            }
          }
        ]
      ],
      [
        second.number,
        [{ actor: { login: 'dev' }, closer: { __typename: 'Commit', oid: trunk.oid } }]
      ]
    ])
  })

  it('knows GitHub’s closing keywords', () => {
    expect(closingReferences('Closes #1, fixed #2; Resolve #3 and resolves: #4')).toEqual([
      1, 2, 3, 4
    ])
    expect(closingReferences('Fix the issue (#5), refs #6, prefix #7, closes#8')).toEqual([])
  })
})
