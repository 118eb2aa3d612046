/**
 * The doorbell's outbox: when to ring each channel again, and when to give up.
 *
 * A run's end writes an outbox entry into its record (the intent) before any
 * channel is rung; each delivery is then recorded. A channel that failed is
 * retried on later ticks with exponential backoff (1 min, doubling, at most
 * 1 h apart) under the same idempotency key, for up to 24 hours after the
 * entry was opened; then the entry is marked abandoned and reported as
 * undeliverable, never retried again.
 *
 * Pure: `now` is always passed in.
 */
import type { OutboxEntry } from './bookkeeping.js'
import type { AnyReason, DoorbellKind } from './types.js'

export const FIRST_RETRY_SECONDS = 60
export const MAX_RETRY_SECONDS = 3600
export const GIVE_UP_AFTER_SECONDS = 24 * 3600
const ERROR_LIMIT = 500

type When = Date | string
const ms = (when: When): number => (typeof when === 'string' ? Date.parse(when) : when.getTime())
const iso = (millis: number): string => new Date(millis).toISOString()

/** Open an entry for a run's end: every channel pending, due at once. */
export function openOutboxEntry(input: {
  key: string
  kind: DoorbellKind
  reason: AnyReason
  channels: readonly string[]
  now: When
}): OutboxEntry {
  const at = iso(ms(input.now))
  return {
    key: input.key,
    kind: input.kind,
    reason: input.reason,
    createdAt: at,
    tries: 0,
    nextTryAt: at,
    pending: [...new Set(input.channels)],
    delivered: [],
    abandonedAt: null,
    lastError: null
  }
}

/** Nothing left to do: every channel delivered, or retries ran out. */
export function isSettled(entry: OutboxEntry): boolean {
  return entry.pending.length === 0 || entry.abandonedAt !== null
}

/** The channels to ring now (none until the entry's next try is due). */
export function dueChannels(entry: OutboxEntry, now: When): string[] {
  if (isSettled(entry)) return []
  return ms(now) >= ms(entry.nextTryAt) ? [...entry.pending] : []
}

/** The wait before try number `tries + 1`, after `tries` failed tries. */
export function backoffSeconds(tries: number): number {
  const exponent = Math.max(0, tries - 1)
  return Math.min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** Math.min(exponent, 20))
}

/**
 * Record one round of deliveries. Delivered channels never become pending
 * again; failed ones wait for the backoff, or are abandoned after 24 hours.
 */
export function recordDelivery(
  entry: OutboxEntry,
  results: readonly { channel: string; ok: boolean; error?: string }[],
  now: When
): OutboxEntry {
  const nowMs = ms(now)
  const ok = new Set(results.filter((r) => r.ok).map((r) => r.channel))
  const delivered = [...entry.delivered, ...entry.pending.filter((c) => ok.has(c))]
  const pending = entry.pending.filter((c) => !ok.has(c))
  const failure = results.find((r) => !r.ok)
  const tries = entry.tries + 1
  const lastError = failure
    ? cleanError(`${failure.channel}: ${failure.error ?? 'delivery failed'}`)
    : entry.lastError
  const expired = nowMs - ms(entry.createdAt) >= GIVE_UP_AFTER_SECONDS * 1000
  return {
    ...entry,
    tries,
    delivered,
    pending,
    lastError: pending.length === 0 ? null : lastError,
    nextTryAt: iso(nowMs + backoffSeconds(tries) * 1000),
    abandonedAt: pending.length > 0 && expired ? iso(nowMs) : entry.abandonedAt
  }
}

/** Errors go into a public comment: no URLs (they may carry secrets), bounded length. */
function cleanError(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>').slice(0, ERROR_LIMIT)
}
