/**
 * Where the clients send requests: GITHUB_API_URL as it is when they are
 * made (GHES, the sandbox, local-action setting it after the toolkit loaded),
 * an explicit baseUrl over it, and github.com when neither is set.
 */
import { afterEach, describe, expect, it } from '@jest/globals'
import { createOctokit } from '../../src/github/client.js'

const saved = process.env.GITHUB_API_URL
afterEach(() => {
  if (saved === undefined) delete process.env.GITHUB_API_URL
  else process.env.GITHUB_API_URL = saved
})

async function urlsOf(options: { baseUrl?: string }): Promise<string[]> {
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
  return urls
}

describe('createOctokit', () => {
  it('reads GITHUB_API_URL when the clients are made, for REST and GraphQL', async () => {
    process.env.GITHUB_API_URL = 'https://ghe.example.com/api/v3'
    expect(await urlsOf({})).toEqual([
      'https://ghe.example.com/api/v3/user',
      'https://ghe.example.com/api/graphql'
    ])
  })

  it('prefers an explicit baseUrl', async () => {
    process.env.GITHUB_API_URL = 'https://ghe.example.com/api/v3'
    expect(await urlsOf({ baseUrl: 'http://127.0.0.1:4010' })).toEqual([
      'http://127.0.0.1:4010/user',
      'http://127.0.0.1:4010/graphql'
    ])
  })

  it('talks to github.com when nothing says otherwise', async () => {
    delete process.env.GITHUB_API_URL
    expect(await urlsOf({})).toEqual([
      'https://api.github.com/user',
      'https://api.github.com/graphql'
    ])
  })
})
