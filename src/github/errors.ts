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

/**
 * Whether a failure is one of GitHub's rate limits, primary or secondary —
 * never a lack of permission, whatever its status. GitHub's signals
 * ("Rate limits for the REST API": exceeding the primary or a secondary
 * limit answers 403 or 429):
 * - `x-ratelimit-remaining: 0` (primary limit; wait until `x-ratelimit-reset`);
 * - a `retry-after` header on a 403 or 429 (secondary limit: wait that long);
 * - any 429;
 * - the message: "secondary rate limit", "API rate limit exceeded", and the
 *   older wording of secondary limits, "abuse detection mechanism";
 * - GraphQL: an error of type `RATE_LIMITED` (HTTP 200), which the throttling
 *   plugin rethrows as "GraphQL Rate Limit Exceeded".
 */
export function isRateLimited(error: unknown): boolean {
  const e = error as
    | (HttpLike & {
        headers?: Record<string, string | undefined>
        response?: { data?: { errors?: { type?: string }[] } }
      })
    | null
  if (!e || typeof e !== 'object') return false
  const headers = e.response?.headers ?? e.headers ?? {}
  const limitStatus = e.status === 403 || e.status === 429
  return (
    headers['x-ratelimit-remaining'] === '0' ||
    e.status === 429 ||
    (limitStatus && headers['retry-after'] !== undefined) ||
    /rate limit|abuse detection/i.test(e.message ?? '') ||
    [...(e.errors ?? []), ...(e.response?.data?.errors ?? [])].some(
      (x) => x.type === 'RATE_LIMITED' || x.type === 'RATE_LIMIT'
    )
  )
}

/**
 * A 401 on a request made with github-token, as an error that names the
 * input and the fix (the token itself is never printed). Null for anything
 * else.
 */
export function asTokenRefused(error: unknown, input = 'github-token'): Error | null {
  const e = error as HttpLike | null
  if (!e || typeof e !== 'object' || e.status !== 401) return null
  const said = (e.message ?? '').replace(/\s+-\s+https?:\/\/\S+$/, '').trim() || 'Unauthorized'
  return new Error(
    `${input} was refused by GitHub (401 ${said}): the token is expired, revoked, mistyped or for another GitHub host. Pass a valid token in ${input} (its default \${{ github.token }}, a GitHub App installation token or a fine-grained token), from a secret.`
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
  if (!e || isRateLimited(e)) return null
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
