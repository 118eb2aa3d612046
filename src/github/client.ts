/**
 * The GitHub clients: `@actions/github`'s Octokit with the throttling and
 * retry plugins, so rate limits and 5xx are handled the way GitHub asks, not
 * by hand.
 *
 * Two clients share one token:
 * - `writer`, for mutations and REST writes: the throttling plugin's default
 *   write group, one request at a time and at least one second apart
 *   (GitHub's secondary-limit guidance). A tick lasts about as many seconds
 *   as it writes.
 * - `reader`, for GraphQL queries and REST reads: the plugin treats every
 *   GraphQL request as a write, which would space reads a second apart too;
 *   the reader keeps its serial queue but without the spacing, so reading
 *   1,000 runs takes ten quick requests instead of ten seconds.
 *
 * Both retry 5xx (retry plugin) and wait out a rate limit only when the wait
 * fits the tick's budget; otherwise the request fails and the loop stops
 * writing until the next tick.
 *
 * Where they send requests: REST to GITHUB_API_URL, GraphQL to
 * GITHUB_GRAPHQL_URL — the runner sets both (`https://api.github.com` and
 * `https://api.github.com/graphql`; `https://HOST/api/v3` and
 * `https://HOST/api/graphql` on GHES). Without GITHUB_GRAPHQL_URL the GraphQL
 * endpoint is derived from the REST one as Octokit does (`/graphql`, or
 * `/api/graphql` beside `/api/v3`). An explicit `baseUrl` (a test seam) takes
 * GraphQL along with it unless `graphqlUrl` is given too.
 */
import { getOctokit } from '@actions/github'
import { retry } from '@octokit/plugin-retry'
import { throttling } from '@octokit/plugin-throttling'
import Bottleneck from 'bottleneck'

export type GitHubClient = ReturnType<typeof getOctokit>

export interface GitHubClients {
  reader: GitHubClient
  writer: GitHubClient
}

export interface ClientOptions {
  /** Test seam: requests go through this fetch. */
  fetch?: typeof fetch
  /**
   * Default: GITHUB_API_URL as it is when the clients are made (the runner sets
   * it; GHES points it at its own API). Read here rather than left to the
   * toolkit, which reads it once when it loads — too early for tools such as
   * local-action that set the environment after loading.
   */
  baseUrl?: string
  /**
   * Default: GITHUB_GRAPHQL_URL as it is when the clients are made, unless an
   * explicit `baseUrl` is given (then GraphQL follows it).
   */
  graphqlUrl?: string
  log?: { info(message: string): void; warning(message: string): void }
  /** The longest rate-limit wait worth sitting out within a tick (default 60 s). */
  maxRetryAfterSeconds?: number
  /** Multiplier for retry-after seconds (tests shrink it; default 1000 ms). */
  retryAfterBaseValue?: number
  /** Spacing between writes in ms (default 1000, GitHub's guidance). */
  writeSpacingMs?: number
  /** Retries of 5xx answers (default 3). */
  retries?: number
}

/** Build the reader and writer clients for a token. */
export function createOctokit(token: string, options: ClientOptions = {}): GitHubClients {
  const maxWait = options.maxRetryAfterSeconds ?? 60
  const onLimit =
    (kind: string) =>
    (
      retryAfter: number,
      request: { method: string; url: string },
      _o: unknown,
      retryCount: number
    ): boolean => {
      const worth = retryAfter <= maxWait && retryCount < 2
      options.log?.warning(
        `GitHub ${kind} rate limit on ${request.method} ${request.url}: ${worth ? `retrying in ${retryAfter}s` : `not retrying (wait ${retryAfter}s)`}.`
      )
      return worth
    }
  const baseUrl = options.baseUrl ?? process.env.GITHUB_API_URL
  const graphqlUrl =
    options.graphqlUrl ??
    (options.baseUrl === undefined ? process.env.GITHUB_GRAPHQL_URL || undefined : undefined)
  const make = (write: Bottleneck.Group | undefined): GitHubClient =>
    withGraphqlUrl(
      getOctokit(
        token,
        {
          throttle: {
            onRateLimit: onLimit('primary'),
            onSecondaryRateLimit: onLimit('secondary'),
            retryAfterBaseValue: options.retryAfterBaseValue ?? 1000,
            ...(write ? { write } : {})
          },
          retry: { retries: options.retries ?? 3 },
          ...(baseUrl ? { baseUrl } : {}),
          ...(options.fetch ? { request: { fetch: options.fetch } } : {})
        },
        throttling,
        retry
      ),
      graphqlUrl
    )
  const spacing = options.writeSpacingMs ?? 1000
  return {
    reader: make(new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 })),
    writer: make(
      spacing === 1000 ? undefined : new Bottleneck.Group({ maxConcurrent: 1, minTime: spacing })
    )
  }
}

/**
 * Point the client's GraphQL at `url`. Both the request's `url` and its
 * `baseUrl` are set: Octokit rewrites the URL of a request whose baseUrl ends
 * in `/api/v3` to `/api/graphql`, which would override GITHUB_GRAPHQL_URL on
 * GHES. The request hooks (throttling, retry, rate-limit bookkeeping) stay:
 * they ride in the request's defaults.
 */
function withGraphqlUrl(client: GitHubClient, url: string | undefined): GitHubClient {
  if (url) client.graphql = client.graphql.defaults({ baseUrl: url, url })
  return client
}
