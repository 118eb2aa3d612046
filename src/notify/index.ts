/**
 * The doorbell: one notification at a run's end, on each configured channel.
 *
 * - Slack (`notify-slack-webhook`) and a generic webhook (`notify-webhook-url`,
 *   optionally signed with `notify-webhook-secret`) are channels, each
 *   delivered and retried on its own by the loop's outbox. The mention
 *   (`notify-mention`) is not a channel: the loop puts it in the final status
 *   comment, and GitHub notifies the people mentioned.
 * - Only terminal kinds are rung (`done`, `needs-human`, `frozen`); anything
 *   else is refused, whatever a record says.
 * - Redirects are refused (a 3xx is a failed delivery), so the body goes only
 *   to the configured https URL, never on to plain http or another host.
 * - `test` (for `mode: check`, only when `check-notify` asks) sends each
 *   channel a delivery that is plainly a test — the webhook body has its own
 *   schema, `afk-loop.doorbell-test/v1` with `kind: "test"`, signed and keyed
 *   like a real one — so a receiver can be checked without a run ending.
 * - A delivery throws on any failure (timeout, refused, non-2xx) so the outbox
 *   retries it later with the same key. Messages never contain the URL or the
 *   secret: Slack webhook URLs are secrets too.
 */
import { createHmac } from 'node:crypto'
import type { Config } from '../config.js'
import { DOORBELL_KINDS } from '../core/types.js'
import type { Notification, NotifierPort } from '../loop/ports.js'
import { slackMessage, webhookBody } from './payloads.js'

export interface NotifierOptions {
  fetch?: typeof fetch
  /** Per delivery (default 10 s). */
  timeoutMs?: number
  /** Test-only: allow `http://127.0.0.1` receivers. */
  allowLoopbackHttp?: boolean
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** The hex HMAC-SHA256 signature header value for a raw body. */
export function signature(secret: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`
}

/** Refuse a URL that would expose what it carries. */
function checkUrl(url: string, channel: string, allowLoopbackHttp: boolean): void {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new Error(`the ${channel} URL is not a valid URL`)
  }
  if (parsed.protocol === 'https:') return
  if (parsed.protocol === 'http:' && allowLoopbackHttp && LOOPBACK.has(parsed.hostname)) return
  throw new Error(`the ${channel} URL must use https://`)
}

interface Channel {
  url: string
  request(n: Notification): { body: string; headers: Record<string, string> }
  /** A delivery that says it is a test. */
  testRequest(at: string): { body: string; headers: Record<string, string> }
}

/** The schema of the webhook's test delivery (`mode: check` with `check-notify`). */
export const WEBHOOK_TEST_SCHEMA_ID = 'afk-loop.doorbell-test/v1'

/** Build the notifier for the `notify-*` inputs. */
export function createNotifier(
  notify: Config['notify'],
  options: NotifierOptions = {}
): NotifierPort {
  const doFetch = options.fetch ?? fetch
  const timeoutMs = options.timeoutMs ?? 10_000
  const channels = new Map<string, Channel>()
  if (notify.slackWebhook) {
    channels.set('slack', {
      url: notify.slackWebhook,
      request: (n) => ({
        body: JSON.stringify(slackMessage(n)),
        headers: { 'content-type': 'application/json' }
      }),
      testRequest: () => ({
        body: JSON.stringify({
          text: 'afk-loop: a test of this notification channel (mode: check). No run ended.'
        }),
        headers: { 'content-type': 'application/json' }
      })
    })
  }
  if (notify.webhookUrl) {
    const secret = notify.webhookSecret
    channels.set('webhook', {
      url: notify.webhookUrl,
      request: (n) => {
        const body = JSON.stringify(webhookBody(n))
        return {
          body,
          headers: {
            'content-type': 'application/json',
            'idempotency-key': n.key,
            ...(secret ? { 'x-afk-signature': signature(secret, body) } : {})
          }
        }
      },
      testRequest: (at) => {
        const key = `afk-check-test-${at}`
        const body = JSON.stringify({ schema: WEBHOOK_TEST_SCHEMA_ID, kind: 'test', key, at })
        return {
          body,
          headers: {
            'content-type': 'application/json',
            'idempotency-key': key,
            ...(secret ? { 'x-afk-signature': signature(secret, body) } : {})
          }
        }
      }
    })
  }

  async function deliver(
    name: string,
    channel: Channel,
    { body, headers }: { body: string; headers: Record<string, string> }
  ): Promise<void> {
    checkUrl(channel.url, name, options.allowLoopbackHttp ?? false)
    let response: Response
    try {
      response = await doFetch(channel.url, {
        method: 'POST',
        headers: { 'user-agent': 'afk-loop', ...headers },
        body,
        // Never follow a redirect: it could lead to plain http or another
        // host, carrying the signed body and the idempotency key with it.
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs)
      })
    } catch (error) {
      // Checked by name: the abort reason is a DOMException, not always an Error here.
      const timedOut = (error as { name?: string } | null)?.name === 'TimeoutError'
      throw new Error(
        timedOut
          ? `${name} notification timed out after ${timeoutMs} ms`
          : `${name} notification could not be sent (${causeOf(error)})`,
        { cause: error }
      )
    }
    // Drain the body so the connection is released.
    await response.text().catch(() => '')
    if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) {
      throw new Error(
        `${name} notification was redirected (HTTP ${response.status}); afk-loop follows no redirects, so configure the final https URL`
      )
    }
    if (!response.ok) {
      throw new Error(`${name} notification was refused with HTTP ${response.status}`)
    }
  }

  return {
    channels: [...channels.keys()],
    async notify(name: string, n: Notification): Promise<void> {
      if (!(DOORBELL_KINDS as readonly string[]).includes(n.kind)) {
        throw new Error(
          `refusing to ring '${String(n.kind)}': the doorbell rings only ${DOORBELL_KINDS.join(', ')}`
        )
      }
      const channel = channels.get(name)
      if (!channel) throw new Error(`no notification channel '${name}' is configured`)
      await deliver(name, channel, channel.request(n))
    },

    async test(name: string, at: string): Promise<void> {
      const channel = channels.get(name)
      if (!channel) throw new Error(`no notification channel '${name}' is configured`)
      await deliver(name, channel, channel.testRequest(at))
    }
  }
}

/** A network error's cause in a few words, never the URL. */
function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string } } | null)?.cause
  if (cause?.code) return cause.code
  return (error as { name?: string } | null)?.name ?? 'unknown error'
}
