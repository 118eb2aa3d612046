/**
 * Which GitHub failures are a lack of permission (fail the step, naming it)
 * and which are not (a rate limit waits, a fault is retried next tick).
 */
import { describe, expect, it } from '@jest/globals'
import { acceptedPermission, asPermissionError } from '../../src/github/errors.js'
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
