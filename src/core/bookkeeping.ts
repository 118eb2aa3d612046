/**
 * The run record: what the loop must remember about a run between ticks, kept
 * in a hidden, versioned block at the bottom of the run's status comment.
 *
 * The record holds only what GitHub and the agent can't tell us again: thread
 * ids, attempt counts, claim time, when the current commit was first seen,
 * pending intents, the notification outbox and a bounded history. Labels,
 * PRs, commits and CI are read fresh every tick.
 *
 * Invariants:
 * - `decode` never throws, on any string: it answers ok, absent or corrupt
 *   (with a reason a human can act on).
 * - The encoded block is ASCII-only and can't contain `-->`, so no value
 *   (an issue title, an error message) can end the HTML comment early.
 * - `decode(encode(r))` deep-equals `r`.
 * - A whole comment stays within {@link COMMENT_BUDGET_BYTES}: history is
 *   trimmed oldest-first, never the essential fields.
 * - Records carry `v`; older versions pass through {@link MIGRATIONS} on the
 *   way in, so a new release can read what an old one wrote.
 * - With a state secret ({@link RecordSeal}), the block's header carries an
 *   HMAC-SHA256 over the record's text and the issue's identity (repository,
 *   number, node id). `decode` with a seal answers `unverified` for a record
 *   without a MAC or with one that doesn't verify: anyone else who can write
 *   comments under the loop's login (every workflow, with `GITHUB_TOKEN`)
 *   can't forge one, and a record copied from another issue doesn't verify.
 *   Without a seal the MAC is ignored, so records stay readable if the
 *   secret is removed, and v1 records without a MAC read as before.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import {
  ACTIONS,
  CI_STATUSES,
  DECISION_REASONS,
  DELIVERIES,
  DOORBELL_KINDS,
  ENDINGS,
  LOOP_REASONS
} from './types.js'

/** GitHub refuses bodies over 65,536 characters; keep a margin. */
export const COMMENT_BUDGET_BYTES = 60_000

/** How many history entries a record keeps at most (oldest dropped first). */
export const HISTORY_LIMIT = 50

export const RECORD_VERSION = 1

/**
 * The longest free text each kind of record field holds. Builders compose
 * their text first and then cut it with {@link fitText}, so every record the
 * loop builds encodes, whatever the length of an agent's error, a detail or a
 * URL; the schema enforces the same bounds on the way in.
 */
export const TEXT_LIMITS = {
  /** An error from an agent, a receiver or GitHub. */
  error: 500,
  /** Extra words for a reason (terminal mark, history entry). */
  detail: 500,
  /** A thread id or a key the backend chose. */
  id: 200,
  /** A link (thread, pull request). */
  url: 500,
  /** A commit id (40 hex characters for SHA-1, 64 for SHA-256). */
  sha: 64
} as const

/** How many commits a record's baseline holds at most. */
export const BASELINE_MAX = 20

/** Cut a composed text to fit `max` characters, marking the cut. */
export function fitText(text: string, max: number): string {
  if (text.length <= max) return text
  if (max <= 1) return text.slice(0, Math.max(0, max))
  // Don't split a surrogate pair: a lone half would become U+FFFD on GitHub.
  let end = max - 1
  const code = text.charCodeAt(end - 1)
  if (code >= 0xd800 && code <= 0xdbff) end--
  return `${text.slice(0, end)}…`
}

/** A link that fits, or null: a cut URL would lead nowhere. */
export function fitUrl(url: string | null): string | null {
  return url !== null && url.length <= TEXT_LIMITS.url ? url : null
}

/** The opening of the hidden block. Its presence marks a status comment. */
export const MARKER = '<!-- afk-loop:record'
const MARKER_END = '-->'

const isoTime = z.iso.datetime({ offset: true })
const reason = z.enum([...DECISION_REASONS, ...LOOP_REASONS])

const threadSchema = z.object({
  /** The agent's thread id (T3 thread id, or workflow run id as a string). */
  id: z.string().min(1).max(TEXT_LIMITS.id),
  url: z.string().max(TEXT_LIMITS.url).nullable(),
  /** 0 = the first turn; n = the n-th fix-forward. */
  attempt: z.number().int().min(0),
  /** The intent key the thread was dispatched under. */
  key: z.string().min(1),
  dispatchedAt: isoTime
})

const intentSchema = z.object({
  kind: z.literal('dispatch'),
  /** Idempotency key: T3 thread ids and workflow run-names derive from it. */
  key: z.string().min(1),
  attempt: z.number().int().min(0),
  at: isoTime,
  /** For a fix-forward: the red commit the agent is asked to fix. */
  commit: z.string().nullable(),
  /** Failed dispatch attempts under this intent; the loop hands back after a few. */
  failures: z.number().int().min(0),
  lastError: z.string().max(TEXT_LIMITS.error).nullable()
})

const outboxSchema = z.object({
  /** Idempotency key: receivers drop a repeat of the same key. */
  key: z.string().min(1),
  kind: z.enum(DOORBELL_KINDS),
  reason,
  createdAt: isoTime,
  tries: z.number().int().min(0),
  nextTryAt: isoTime,
  /**
   * Channels still to deliver to. Each is retried on its own, so a channel
   * that can't drop repeats (Slack) is never sent twice because another failed.
   */
  pending: z.array(z.string().min(1)),
  delivered: z.array(z.string().min(1)),
  /** Set when retries ran out (24 h): reported, never retried again. */
  abandonedAt: isoTime.nullable(),
  lastError: z.string().max(TEXT_LIMITS.error).nullable()
})

const historySchema = z.object({
  at: isoTime,
  action: z.enum([...ACTIONS, 'CLAIM', 'HAND_BACK', 'RELEASE']),
  reason,
  detail: z.string().max(TEXT_LIMITS.detail).optional()
})

export const runRecordSchema = z.object({
  v: z.literal(RECORD_VERSION),
  repo: z.string().regex(/^[^/\s]+\/[^/\s]+$/),
  issue: z.number().int().positive(),
  /** Unique per claim; every key of this run derives from it. */
  runKey: z.string().min(1),
  claimedAt: isoTime,
  /** Delivery at claim time: a config change mid-run doesn't move the goalposts. */
  delivery: z.enum(DELIVERIES),
  /**
   * Commits that existed when the issue was claimed (its own pull requests'
   * heads, the previous run's commit): never this run's work. Absent in
   * records written before it existed, which read as empty.
   */
  baseline: z.array(z.string().min(1).max(TEXT_LIMITS.sha)).max(BASELINE_MAX).default([]),
  fixForwardAttempts: z.number().int().min(0),
  threads: z.array(threadSchema),
  intent: intentSchema.nullable(),
  /** The latest pushed commit and when the loop first saw it (CI-start deadline). */
  commit: z
    .object({
      sha: z.string().min(1).max(TEXT_LIMITS.sha),
      firstSeenAt: isoTime,
      /** The pull request carrying the commit (pull-request delivery). */
      pullRequestUrl: z.string().max(TEXT_LIMITS.url).nullable()
    })
    .nullable(),
  /** When the current thread was first seen idle (idle-grace deadline). */
  idleSince: isoTime.nullable(),
  outbox: z.array(outboxSchema),
  /** Set once the run has ended; the loop then only delivers the outbox. */
  terminal: z
    .object({
      action: z.enum(ENDINGS),
      reason,
      at: isoTime,
      /** CI of the commit when the run ended, so the final comment never changes afterwards. */
      ci: z.enum(CI_STATUSES).nullable(),
      detail: z.string().max(TEXT_LIMITS.detail).nullable(),
      /** A thread still to interrupt (an intent: written first, cleared once done). */
      interrupt: z.string().min(1).nullable()
    })
    .nullable(),
  history: z.array(historySchema)
})

export type RunRecord = z.infer<typeof runRecordSchema>
export type ThreadRef = z.infer<typeof threadSchema>
export type DispatchIntent = z.infer<typeof intentSchema>
export type OutboxEntry = z.infer<typeof outboxSchema>
export type HistoryEntry = z.infer<typeof historySchema>
export type TerminalMark = NonNullable<RunRecord['terminal']>

/** What `decode` found in a comment body. */
export type Decoded =
  | { kind: 'ok'; record: RunRecord }
  | { kind: 'absent' }
  | { kind: 'corrupt'; reason: string }
  /** Readable, but the loop can't prove it wrote it (state secret set). */
  | { kind: 'unverified'; reason: string }

/**
 * What binds a record to the loop and to one issue: the `state-secret` and
 * the issue's identity. The node id survives a transfer while the repository
 * and number change, so a record doesn't verify anywhere but where it was
 * written.
 */
export interface RecordSeal {
  secret: string
  /** `owner/name` (compared lowercase). */
  repo: string
  issue: number
  /** The issue's GraphQL node id. */
  issueId: string
}

/** The record's MAC: HMAC-SHA256 over the issue's identity and the record's exact text, hex. */
export function recordMac(json: string, seal: RecordSeal): string {
  return createHmac('sha256', seal.secret)
    .update(`afk-loop record\n${seal.repo.toLowerCase()}\n${seal.issue}\n${seal.issueId}\n`)
    .update(json)
    .digest('hex')
}

const MAC_LABEL = 'hmac-sha256='

/**
 * Upgrades from older record versions, keyed by the version they read. Each
 * returns a value of the next version. Empty while v1 is the only version:
 * this is the seam a v2 hangs its migration on.
 */
export const MIGRATIONS: Readonly<Record<number, (raw: Record<string, unknown>) => unknown>> = {}

/**
 * JSON with every character outside printable ASCII, and `<`, `>`, `&`,
 * escaped as `\uXXXX`. The result is ASCII, and `-->` can't occur because `>`
 * never appears literally.
 */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[^\x20-\x7e]|[<>&]/g,
    (ch) => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0')
  )
}

/**
 * The hidden block for a record, to append to a comment's visible text.
 * The record goes through its schema first: the output is canonical (keys in
 * schema order, so an unchanged record always encodes to the same text and
 * costs no write), and the loop never writes a record it couldn't read back.
 */
export function encode(record: RunRecord, seal: RecordSeal | null = null): string {
  const canonical = runRecordSchema.parse(record)
  const json = asciiJson(canonical)
  const mac = seal ? ` ${MAC_LABEL}${recordMac(json, seal)}` : ''
  return `${MARKER} v${canonical.v}${mac}\n${json}\n${MARKER_END}`
}

/** Whether a comment body carries a record block (valid or not). */
export function hasMarker(body: string): boolean {
  return body.includes(MARKER)
}

/**
 * Read the record from a comment body. Never throws. With a seal, a record
 * must carry a MAC that verifies, or it is `unverified`.
 */
export function decode(body: string, seal: RecordSeal | null = null): Decoded {
  try {
    return decodeUnsafe(body, seal)
  } catch (error) {
    // Defensive: decodeUnsafe is written not to throw, but a record that
    // can't be read must never take the tick down with it.
    return { kind: 'corrupt', reason: `unreadable record (${String(error)})` }
  }
}

function decodeUnsafe(body: string, seal: RecordSeal | null): Decoded {
  const start = body.lastIndexOf(MARKER)
  if (start < 0) return { kind: 'absent' }
  const end = body.indexOf(MARKER_END, start + MARKER.length)
  if (end < 0) return { kind: 'corrupt', reason: 'the record block is not closed' }
  const inner = body.slice(start + MARKER.length, end)
  const newline = inner.indexOf('\n')
  if (newline < 0) return { kind: 'corrupt', reason: 'the record block has no body' }
  const header = inner.slice(0, newline).trim()
  const version = /^v(\d{1,6})(?: hmac-sha256=([0-9a-f]{64}))?$/.exec(header)
  if (!version) return { kind: 'corrupt', reason: `unrecognised record header "${clip(header)}"` }

  const json = inner.slice(newline + 1).trimEnd()
  if (seal) {
    const mac = version[2]
    if (!mac) {
      return {
        kind: 'unverified',
        reason:
          'the record carries no MAC (written before state-secret was set, or by someone else)'
      }
    }
    const expected = Buffer.from(recordMac(json, seal), 'hex')
    if (!timingSafeEqual(Buffer.from(mac, 'hex'), expected)) {
      return {
        kind: 'unverified',
        reason:
          "the record's MAC does not verify (written by someone else, for another issue, or with another state-secret)"
      }
    }
  }

  let raw: unknown
  try {
    raw = JSON.parse(json)
  } catch {
    return { kind: 'corrupt', reason: 'the record is not valid JSON' }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { kind: 'corrupt', reason: 'the record is not a JSON object' }
  }
  const migrated = migrate(raw as Record<string, unknown>)
  if ('reason' in migrated) return { kind: 'corrupt', reason: migrated.reason }

  const parsed = runRecordSchema.safeParse(migrated.value)
  if (!parsed.success) {
    const first = parsed.error.issues[0]
    const where = first?.path.length ? first.path.join('.') : 'record'
    return { kind: 'corrupt', reason: `invalid ${where}: ${first?.message ?? 'unknown'}` }
  }
  return { kind: 'ok', record: parsed.data }
}

function migrate(raw: Record<string, unknown>): { value: unknown } | { reason: string } {
  let value: Record<string, unknown> = raw
  for (let guard = 0; guard < 100; guard++) {
    const v = value.v
    if (v === RECORD_VERSION) return { value }
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      return { reason: 'the record has no version' }
    }
    if (v > RECORD_VERSION) {
      return { reason: `the record was written by a newer afk-loop (record v${v})` }
    }
    const step = MIGRATIONS[v]
    if (!step) return { reason: `record v${v} can't be migrated` }
    const next = step(value)
    if (typeof next !== 'object' || next === null)
      return { reason: `record v${v} migration failed` }
    value = next as Record<string, unknown>
  }
  return { reason: 'record migration did not converge' }
}

function clip(text: string): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, '?')
  return ascii.length > 40 ? `${ascii.slice(0, 40)}…` : ascii
}

/** Append a history entry, keeping at most {@link HISTORY_LIMIT}. */
export function withHistory(record: RunRecord, entry: HistoryEntry): RunRecord {
  const history = [...record.history, entry]
  return { ...record, history: history.slice(Math.max(0, history.length - HISTORY_LIMIT)) }
}

/** UTF-8 size of a string, as GitHub counts the body's bytes. */
export function byteLength(text: string): number {
  return new TextEncoder().encode(text).length
}

/**
 * The whole status comment: visible text (rendered from the record, since it
 * shows the history) followed by the hidden block. History is dropped
 * oldest-first until the comment fits the budget; if even an empty history
 * doesn't fit, the visible text is cut (the record itself is never cut).
 */
export function composeComment(
  record: RunRecord,
  renderVisible: (record: RunRecord) => string,
  budget: number = COMMENT_BUDGET_BYTES,
  seal: RecordSeal | null = null
): string {
  let current = record
  for (;;) {
    const body = `${renderVisible(current)}\n\n${encode(current, seal)}`
    if (byteLength(body) <= budget) return body
    if (current.history.length === 0) break
    // Halve the overshoot quickly on huge histories, one by one near the end.
    const drop = Math.max(1, Math.floor(current.history.length / 4))
    current = { ...current, history: current.history.slice(drop) }
  }
  const block = encode(current, seal)
  const room = budget - byteLength(block) - 40
  const visible = truncateBytes(renderVisible(current), Math.max(0, room))
  return `${visible}\n\n_(truncated)_\n\n${block}`
}

/** Cut a string to at most `max` UTF-8 bytes without splitting a character. */
export function truncateBytes(text: string, max: number): string {
  if (byteLength(text) <= max) return text
  let out = ''
  let size = 0
  for (const ch of text) {
    const n = byteLength(ch)
    if (size + n > max) break
    out += ch
    size += n
  }
  return out
}
