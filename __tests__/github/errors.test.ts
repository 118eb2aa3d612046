/**
 * Which GitHub failures are a lack of permission (fail the step, naming it)
 * and which are not (a rate limit waits, a fault is retried next tick).
 */
import { describe, expect, it } from '@jest/globals'
import {
  acceptedPermission,
  asPermissionError,
  asTokenRefused,
  isRateLimited
} from '../../src/github/errors.js'
import { asRateLimited } from '../../src/github/adapter.js'
import { PermissionError } from '../../src/loop/ports.js'

const http = (status: number, message: string, headers: Record<string, string> = {}) =>
  Object.assign(new Error(message), { status, response: { headers } })

describe('acceptedPermission', () => {
  it("names the first alternative of GitHub's header as a workflow's permissions: say it", () => {
    expect(acceptedPermission('issues=write')).toBe('issues: write')
    expect(acceptedPermission('pull_requests=write; issues=write')).toBe('pull-requests: write')
    expect(acceptedPermission('repository_projects=write,organization_projects=admin')).toBe(
      'repository-projects: write'
    )
    expect(acceptedPermission(undefined)).toBeNull()
    expect(acceptedPermission('nonsense')).toBeNull()
  })
})

describe('asPermissionError', () => {
  it('is the permission GitHub names on a 403 that is not a rate limit', () => {
    const e = asPermissionError(
      http(403, 'Resource not accessible by integration', {
        'x-accepted-github-permissions': 'actions=write'
      }),
      'issues: write',
      'do it'
    )
    expect(e).toBeInstanceOf(PermissionError)
    expect(e?.permission).toBe('actions: write')
    expect(e?.status).toBe(403)
    expect(e?.message).toContain('it needs actions: write')
  })

  it('falls back to the permission the caller expected when GitHub names none', () => {
    const e = asPermissionError(http(403, 'Forbidden'), 'issues: write', 'comment')
    expect(e?.permission).toBe('issues: write')
  })

  it('calls a 401 a rejected token', () => {
    const e = asPermissionError(http(401, 'Bad credentials'), 'issues: write', 'comment')
    expect(e?.status).toBe(401)
    expect(e?.message).toMatch(/GitHub rejected github-token \(HTTP 401\)/)
  })

  it('reads a GraphQL FORBIDDEN error as a lack of the expected permission', () => {
    const graphql = Object.assign(new Error('Request failed due to following response errors'), {
      errors: [
        { type: 'FORBIDDEN', path: ['comment'], message: 'Resource not accessible by integration' }
      ]
    })
    expect(asPermissionError(graphql, 'issues: write', 'comment')?.permission).toBe('issues: write')
  })

  it('is null for rate limits, transient faults and other refusals', () => {
    const secondary = http(403, 'You have exceeded a secondary rate limit')
    const primary = http(403, 'API rate limit exceeded', { 'x-ratelimit-remaining': '0' })
    const graphqlLimited = Object.assign(new Error('x'), { errors: [{ type: 'RATE_LIMITED' }] })
    for (const error of [
      secondary,
      primary,
      graphqlLimited,
      http(502, 'Bad Gateway'),
      http(422, 'Validation Failed'),
      http(404, 'Not Found'),
      new Error('fetch failed'),
      null
    ]) {
      expect(asPermissionError(error, 'issues: write', 'comment')).toBeNull()
    }
  })
})

describe("GitHub's secondary rate limits are never a lack of permission", () => {
  // GitHub: a secondary limit answers 403 or 429, with `retry-after` when it
  // says how long to wait, or `x-ratelimit-remaining: 0`; older servers word
  // it "abuse detection mechanism".
  const limits = [
    [
      '403 + retry-after, abuse-detection wording',
      http(403, 'You have triggered an abuse detection mechanism. Please wait a few minutes.', {
        'retry-after': '60'
      })
    ],
    [
      '403, abuse-detection wording alone',
      http(403, 'You have triggered an abuse detection mechanism')
    ],
    [
      '403 + retry-after, no wording',
      http(403, 'Forbidden', { 'retry-after': '30', 'x-ratelimit-remaining': '4000' })
    ],
    ['403 + x-ratelimit-remaining 0', http(403, 'Forbidden', { 'x-ratelimit-remaining': '0' })],
    ['429 + retry-after', http(429, 'Too Many Requests', { 'retry-after': '5' })],
    ['429 alone', http(429, 'Too Many Requests')],
    [
      '403, secondary wording',
      http(403, 'You have exceeded a secondary rate limit and have been temporarily blocked')
    ]
  ] as const
  it.each(limits)('%s: a rate limit, not a permission failure', (_name, error) => {
    expect(isRateLimited(error)).toBe(true)
    expect(asPermissionError(error, 'issues: write', 'comment')).toBeNull()
    expect(asRateLimited(error)).not.toBeNull()
  })

  it('a 403 without any of those signals stays a permission failure', () => {
    const refused = http(403, 'Resource not accessible by integration', {
      'x-ratelimit-remaining': '4000'
    })
    expect(isRateLimited(refused)).toBe(false)
    expect(asRateLimited(refused)).toBeNull()
    expect(asPermissionError(refused, 'issues: write', 'comment')).toBeInstanceOf(PermissionError)
    // retry-after on other statuses (a 503's) is not a rate limit
    expect(isRateLimited(http(503, 'Service Unavailable', { 'retry-after': '10' }))).toBe(false)
  })
})

describe('asTokenRefused', () => {
  it('names github-token and the fix on a 401, with what GitHub said but no URL', () => {
    const e = asTokenRefused(http(401, 'Bad credentials - https://docs.github.com/rest'))
    expect(e?.message).toMatch(
      /^github-token was refused by GitHub \(401 Bad credentials\): .*Pass a valid token in github-token/
    )
    expect(e?.message).not.toContain('docs.github.com')
    expect(asTokenRefused(http(401, ''), 'copilot-token')?.message).toMatch(
      /^copilot-token was refused by GitHub \(401 Unauthorized\)/
    )
  })

  it('is null for anything but a 401', () => {
    for (const error of [http(403, 'Forbidden'), http(404, 'Not Found'), new Error('x'), null]) {
      expect(asTokenRefused(error)).toBeNull()
    }
  })
})
