/**
 * Which GitHub failures are a lack of permission: answers that will be the
 * same on every retry until someone changes the token, as opposed to a rate
 * limit (wait) or a transient fault (retry next tick).
 *
 * - 401: the token itself was rejected (expired, revoked, wrong).
 * - 403 that is not a rate limit ("Resource not accessible by integration"):
 *   the token lacks a permission. GitHub names what the route accepts in the
 *   `x-accepted-github-permissions` header (`issues=write; pull_requests=write`
 *   — alternatives separated by `;`) for Apps and fine-grained tokens; the
 *   first alternative is named, else the permission the caller expected.
 * - A GraphQL answer whose errors have `type: FORBIDDEN`: the same for a
 *   mutation (GitHub answers 200 with the error on the refused field).
 */
import { PermissionError } from '../loop/ports.js'

interface HttpLike {
  status?: number
  message?: string
  response?: { headers?: Record<string, string | undefined> }
  errors?: { type?: string; message?: string }[]
}

/** `issues=write; pull_requests=write` → `issues: write` (as a workflow's permissions say it). */
export function acceptedPermission(header: string | undefined): string | null {
  const first = header?.split(';')[0]?.split(',')[0]?.trim()
  const match = first ? /^([a-z_]+)=([a-z]+)$/.exec(first) : null
  return match ? `${(match[1] ?? '').replace(/_/g, '-')}: ${match[2]}` : null
}

/** A rate limit is never a lack of permission (callers check `asRateLimited` first too). */
function rateLimited(e: HttpLike): boolean {
  return (
    e.response?.headers?.['x-ratelimit-remaining'] === '0' ||
    /rate limit/i.test(e.message ?? '') ||
    (e.errors ?? []).some((x) => x.type === 'RATE_LIMITED')
  )
}

/**
 * `error` as a {@link PermissionError} when it is a lack of permission, or
 * null. `needed` names the permission the request needs (`issues: write`),
 * used when GitHub doesn't say; `what` says what was being done.
 */
export function asPermissionError(
  error: unknown,
  needed: string,
  what: string
): PermissionError | null {
  const e = error as HttpLike | null
  if (!e || rateLimited(e)) return null
  if (e.status === 401) {
    return new PermissionError(
      `GitHub rejected github-token (HTTP 401) while trying to ${what}: it is expired, revoked or wrong. Pass a valid token with ${needed}.`,
      needed,
      401
    )
  }
  if (e.status === 403) {
    const permission = acceptedPermission(e.response?.headers?.['x-accepted-github-permissions'])
    const missing = permission ?? needed
    return new PermissionError(
      `GitHub refused to let the token ${what} (HTTP 403: ${e.message ?? 'forbidden'}): it needs ${missing}.`,
      missing,
      403
    )
  }
  const forbidden = (e.errors ?? []).find(
    (x) => x.type === 'FORBIDDEN' || /not accessible by|correct permissions/i.test(x.message ?? '')
  )
  if (forbidden) {
    return new PermissionError(
      `GitHub refused to let the token ${what} (${forbidden.message ?? 'FORBIDDEN'}): it needs ${needed}.`,
      needed,
      200
    )
  }
  return null
}
