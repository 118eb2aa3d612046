/**
 * The loopback GitHub prices queries by GitHub's published formula: the
 * worked examples of GitHub's docs and of github-facts.md, with variables,
 * `@include`/`@skip` and fragments resolved the way the server resolves them,
 * and its hourly budget answers as GitHub does once spent.
 */
import { afterEach, describe, expect, it } from '@jest/globals'
import { parse } from 'graphql'
import { PointBudget, queryCost, score } from '../../sandbox/github/cost.js'
import { githubSchema } from '../../sandbox/github/graphql.js'
import { OWN_PULLS_QUERY, PULLS_QUERY } from '../../src/github/queries.js'
import { GitHubStore } from '../../sandbox/github/store.js'
import { startGitHubSandbox, type GitHubSandbox } from '../../sandbox/github/server.js'

const price = (query: string, variables: Record<string, unknown> = {}) =>
  queryCost(githubSchema(), parse(query), variables)

describe("GitHub's formula", () => {
  it("prices a flooded issue's follow-ups: a page of 25 closing pull requests, and the run's own by branch", () => {
    // closedByPullRequestsReferences(first:25) 1 + commits(last:1) 25 + contexts 25 + checkSuites 25
    expect(price(PULLS_QUERY, { id: 'I', after: 'c' })).toMatchObject({ requests: 76, cost: 1 })
    const own = { owner: 'a', name: 'b', branch: 'refs/heads/afk/issue-1', closer: 0 }
    // associatedPullRequests(first:5) 1 + commits 5 + contexts 5 + checkSuites 5
    expect(price(OWN_PULLS_QUERY, { ...own, withCloser: false })).toMatchObject({
      requests: 16,
      cost: 1
    })
    // + the closer by number (not a connection): its commits, contexts, checkSuites 1 each
    expect(price(OWN_PULLS_QUERY, { ...own, withCloser: true })).toMatchObject({
      requests: 19,
      cost: 1
    })
  })

  it('github-facts.md: issues(first:100){ labels(first:50) comments(first:50) } is 201 requests, 2 points', () => {
    expect(
      price(`query { repository(owner: "a", name: "b") {
        issues(first: 100) { nodes { labels(first: 50) { nodes { name } } comments(first: 50) { nodes { body } } } }
      } }`)
    ).toEqual({ requests: 201, nodes: 100 + 5000 + 5000, cost: 2 })
  })

  it('github-facts.md: closing pull requests with their last commit and 50 contexts add 1,100 requests', () => {
    const base = `issues(first: 100) { nodes { labels(first: 50) { nodes { name } } comments(first: 50) { nodes { body } }`
    const prs = `closedByPullRequestsReferences(first: 5) { nodes { commits(last: 1) { nodes { commit {
      statusCheckRollup { contexts(first: 50) { nodes { __typename } } } } } } } }`
    const q = (extra: string) =>
      `query { repository(owner: "a", name: "b") { ${base} ${extra} } } } }`
    const without = price(q(''))
    const withPrs = price(q(prs))
    expect(withPrs.requests - without.requests).toBe(100 + 500 + 500)
    expect(withPrs.cost).toBe(13)
  })

  it("GitHub's docs: repositories(first:100){ issues(first:50){ labels(first:60) } } is 5,101 requests, 51 points", () => {
    expect(
      price(`query { viewer { login repositories(first: 100) { edges { node { id
        issues(first: 50) { edges { node { id labels(first: 60) { edges { node { id name } } } } } } } } } } }`)
    ).toMatchObject({ requests: 5101, cost: 51 })
  })

  it('resolves variables, @include and @skip, aliases and fragments; non-connections multiply nothing', () => {
    const q = `query($n: Int!, $on: Boolean!, $off: Boolean!) {
      repository(owner: "a", name: "b") {
        one: issues(first: $n) { ...Labels }
        two: issues(first: $n) @include(if: $on) { nodes { ... on Issue { comments(last: 10) { totalCount } } } }
        three: issues(first: 100) @skip(if: $off) { totalCount }
      }
      nodes(ids: ["x", "y"]) { ... on Issue { labels(first: 100) { totalCount } comments(first: 100) { totalCount } } }
    }
    fragment Labels on IssueConnection { nodes { labels(first: 7) { totalCount } } }`
    // one: 1 + 20 (labels); two: 1 + 20 (comments); three: 1; nodes: 1 + 1.
    expect(price(q, { n: 20, on: true, off: false })).toMatchObject({ requests: 45, cost: 1 })
    // two switched off, three skipped: 1 + 20 + 2.
    expect(price(q, { n: 20, on: false, off: true })).toMatchObject({ requests: 23, cost: 1 })
    expect(price(q, { n: 100, on: true, off: false })).toMatchObject({ requests: 205, cost: 2 })
  })

  it('scores at least 1 and rounds to the nearest point', () => {
    expect(score(0)).toBe(1)
    expect(score(149)).toBe(1)
    expect(score(150)).toBe(2)
    expect(score(5101)).toBe(51)
    expect(price('query { viewer { login } }').cost).toBe(1)
  })

  it('refuses a connection without first or last, in GitHub’s words', () => {
    expect(() =>
      price('query { repository(owner: "a", name: "b") { issues { totalCount } } }')
    ).toThrow(
      'You must provide a `first` or `last` value to properly paginate the `issues` connection.'
    )
  })
})

describe('the hourly budget', () => {
  let sandbox: GitHubSandbox | null = null
  afterEach(async () => {
    await sandbox?.close()
    sandbox = null
  })

  it('rolls over each hour and refuses what does not fit', () => {
    let now = 0
    const budget = new PointBudget(10, () => now)
    expect(budget.charge(6)).toBe(true)
    expect(budget.charge(5)).toBe(false)
    expect(budget.remaining).toBe(4)
    now = 3600_000
    expect(budget.remaining).toBe(10)
  })

  it.each(['RATE_LIMITED', 'RATE_LIMIT'] as const)(
    'answers rateLimit truthfully, then 200 with a %s error and x-ratelimit-remaining 0',
    async (type) => {
      const store = new GitHubStore()
      store.addToken('tok', 'afk-bot', { bot: true })
      store.addRepo('acme/widgets')
      sandbox = await startGitHubSandbox({
        store,
        pointsPerHour: { 'afk-bot': 5 },
        ...(type === 'RATE_LIMIT' ? { rateLimitedType: type } : {})
      })
      const ask = async (query: string) => {
        const res = await fetch(sandbox?.graphqlUrl ?? '', {
          method: 'POST',
          headers: { authorization: 'bearer tok', 'content-type': 'application/json' },
          body: JSON.stringify({ query })
        })
        return {
          status: res.status,
          remaining: res.headers.get('x-ratelimit-remaining'),
          resource: res.headers.get('x-ratelimit-resource'),
          // eslint-disable-next-line @typescript-eslint/no-explicit-any -- arbitrary GraphQL shapes
          json: (await res.json()) as any
        }
      }
      const twoPoints = `query { rateLimit { cost remaining limit used resetAt }
        repository(owner: "acme", name: "widgets") { issues(first: 100) { nodes { labels(first: 1) { totalCount } comments(first: 1) { totalCount } } } } }`
      const first = await ask(twoPoints)
      expect(first.json.data.rateLimit).toMatchObject({ cost: 2, remaining: 3, limit: 5, used: 2 })
      expect(first.remaining).toBe('3')
      expect(first.resource).toBe('graphql')
      expect((await ask(twoPoints)).json.data.rateLimit).toMatchObject({ cost: 2, remaining: 1 })
      const refused = await ask(twoPoints)
      expect(refused.status).toBe(200)
      expect(refused.json.data).toBeUndefined()
      expect(refused.json.errors).toEqual([
        { type, message: expect.stringContaining('API rate limit exceeded') }
      ])
      expect(refused.remaining).toBe('1')
      expect(sandbox.counts.points).toBe(4)
      // One point still fits.
      expect((await ask('query { rateLimit { cost remaining } }')).json.data.rateLimit).toEqual({
        cost: 1,
        remaining: 0
      })
      expect((await ask('query { viewer { login } }')).remaining).toBe('0')
    }
  )
})
