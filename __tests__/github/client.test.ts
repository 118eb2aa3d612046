/**
 * Where the clients send requests: GITHUB_API_URL as it is when they are
 * made (GHES, the sandbox, local-action setting it after the toolkit loaded),
 * an explicit baseUrl over it, and github.com when neither is set.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { createOctokit } from '../../src/github/client.js'

const saved = { api: process.env.GITHUB_API_URL, graphql: process.env.GITHUB_GRAPHQL_URL }
beforeEach(() => {
  delete process.env.GITHUB_GRAPHQL_URL
})
afterEach(() => {
  if (saved.api === undefined) delete process.env.GITHUB_API_URL
  else process.env.GITHUB_API_URL = saved.api
  if (saved.graphql === undefined) delete process.env.GITHUB_GRAPHQL_URL
  else process.env.GITHUB_GRAPHQL_URL = saved.graphql
})

async function urlsOf(options: { baseUrl?: string; graphqlUrl?: string }): Promise<string[]> {
  const urls: string[] = []
  const fetch = (async (url: string | URL) => {
    urls.push(String(url))
    return new Response(JSON.stringify({ login: 'afk-loop' }), {
      status: 200,
      headers: { 'content-type': 'application/json' }
    })
  }) as typeof globalThis.fetch
  const { reader, writer } = createOctokit('token', { ...options, fetch, writeSpacingMs: 0 })
  await reader.rest.users.getAuthenticated()
  await writer.graphql('query { viewer { login } }')
  await reader.graphql('query { viewer { login } }')
  return urls
}

describe('createOctokit', () => {
  it('reads GITHUB_API_URL when the clients are made, for REST and GraphQL', async () => {
    process.env.GITHUB_API_URL = 'https://ghe.example.com/api/v3'
    expect(await urlsOf({})).toEqual([
      'https://ghe.example.com/api/v3/user',
      'https://ghe.example.com/api/graphql',
      'https://ghe.example.com/api/graphql'
    ])
  })

  it('sends GraphQL to GITHUB_GRAPHQL_URL when it is set, even beside a GHES /api/v3', async () => {
    process.env.GITHUB_API_URL = 'https://ghe.example.com/api/v3'
    process.env.GITHUB_GRAPHQL_URL = 'https://graphql.ghe.example.com/api/graphql'
    expect(await urlsOf({})).toEqual([
      'https://ghe.example.com/api/v3/user',
      'https://graphql.ghe.example.com/api/graphql',
      'https://graphql.ghe.example.com/api/graphql'
    ])
  })

  it('ignores an empty GITHUB_GRAPHQL_URL', async () => {
    process.env.GITHUB_API_URL = 'https://ghe.example.com/api/v3'
    process.env.GITHUB_GRAPHQL_URL = ''
    expect((await urlsOf({}))[1]).toBe('https://ghe.example.com/api/graphql')
  })

  it('takes an explicit graphqlUrl over both', async () => {
    process.env.GITHUB_GRAPHQL_URL = 'https://api.github.com/graphql'
    expect(
      await urlsOf({ baseUrl: 'http://127.0.0.1:4010', graphqlUrl: 'http://127.0.0.1:4011/gql' })
    ).toEqual([
      'http://127.0.0.1:4010/user',
      'http://127.0.0.1:4011/gql',
      'http://127.0.0.1:4011/gql'
    ])
  })

  it('prefers an explicit baseUrl, GraphQL following it', async () => {
    process.env.GITHUB_API_URL = 'https://ghe.example.com/api/v3'
    process.env.GITHUB_GRAPHQL_URL = 'https://ghe.example.com/api/graphql'
    expect(await urlsOf({ baseUrl: 'http://127.0.0.1:4010' })).toEqual([
      'http://127.0.0.1:4010/user',
      'http://127.0.0.1:4010/graphql',
      'http://127.0.0.1:4010/graphql'
    ])
  })

  it('talks to github.com when nothing says otherwise', async () => {
    delete process.env.GITHUB_API_URL
    expect(await urlsOf({})).toEqual([
      'https://api.github.com/user',
      'https://api.github.com/graphql',
      'https://api.github.com/graphql'
    ])
  })
})
