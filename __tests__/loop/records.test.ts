/**
 * Every record the loop can build encodes, whatever the length of the text
 * it is given (an agent's error, a thread id or URL, a detail, a commit, a
 * receiver's error): the builders cut each free text after composing it, and
 * the whole status comment stays under GitHub's size limit. This is what keeps
 * a 3,000-character T3 error from wedging a run (issue 14, finding 3).
 */
import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import {
  byteLength,
  COMMENT_BUDGET_BYTES,
  decode,
  encode,
  type RunRecord
} from '../../src/core/bookkeeping.js'
import { openOutboxEntry, recordDelivery } from '../../src/core/outbox.js'
import { ENDINGS, DOORBELL_KINDS, DECISION_REASONS, LOOP_REASONS } from '../../src/core/types.js'
import { repoRef } from '../../src/config.js'
import {
  attemptKey,
  endRecord,
  failDispatch,
  newRecord,
  noteDecision,
  recordThread,
  statusCommentBody,
  trackCommit
} from '../../src/loop/run-view.js'

/** Text of any length, up to well past every limit (and GitHub's). */
const anyText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc.integer({ min: 400, max: 80_000 }).map((n) => 'é😀x'.repeat(Math.ceil(n / 3)).slice(0, n))
)
const reason = fc.constantFrom(...DECISION_REASONS, ...LOOP_REASONS)

/** One step the loop can take on a record. */
const step = fc.oneof(
  fc.record({
    kind: fc.constant('thread' as const),
    id: anyText.filter((s) => s.length > 0),
    url: fc.option(anyText, { nil: null })
  }),
  fc.record({ kind: fc.constant('fail' as const), error: anyText }),
  fc.record({ kind: fc.constant('note' as const), detail: anyText, reason }),
  fc.record({
    kind: fc.constant('commit' as const),
    sha: anyText.filter((s) => s.length > 0),
    url: fc.option(anyText, { nil: null })
  }),
  fc.record({ kind: fc.constant('fix' as const) })
)

const NOW = new Date('2026-11-24T08:00:00.000Z')

function apply(record: RunRecord, s: StepValue, i: number): RunRecord {
  const now = new Date(NOW.getTime() + i * 60_000)
  switch (s.kind) {
    case 'thread':
      return recordThread(record, { threadId: s.id, url: s.url }, now)
    case 'fail':
      return failDispatch(record, s.error)
    case 'note':
      return noteDecision(record, {
        at: now.toISOString(),
        action: 'WAIT',
        reason: s.reason,
        detail: s.detail
      })
    case 'commit':
      return trackCommit(
        record,
        { sha: s.sha, url: '', ci: { status: 'red', url: null }, pullRequestUrl: s.url },
        now
      )
    case 'fix': {
      const attempt = record.fixForwardAttempts + 1
      return {
        ...record,
        intent: {
          kind: 'dispatch',
          key: attemptKey(record.runKey, attempt),
          attempt,
          at: now.toISOString(),
          commit: record.commit?.sha ?? null,
          failures: 0,
          lastError: null
        }
      }
    }
  }
}
type StepValue =
  | { kind: 'thread'; id: string; url: string | null }
  | { kind: 'fail'; error: string }
  | {
      kind: 'note'
      detail: string
      reason: (typeof DECISION_REASONS)[number] | (typeof LOOP_REASONS)[number]
    }
  | { kind: 'commit'; sha: string; url: string | null }
  | { kind: 'fix' }

describe('records built from text of any length', () => {
  it('always encode, decode to themselves, and fit a status comment under GitHub’s limit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.option(anyText, { nil: undefined }),
        fc.array(step, { maxLength: 25 }),
        fc.option(
          fc.record({
            ending: fc.constantFrom(...ENDINGS),
            reason,
            detail: fc.option(anyText, { nil: null })
          }),
          { nil: null }
        ),
        fc.array(fc.record({ ok: fc.boolean(), error: anyText }), { maxLength: 3 }),
        fc.constantFrom(...DOORBELL_KINDS),
        (issue, claimDetail, steps, end, deliveries, kind) => {
          let record = newRecord(repoRef('acme/widgets'), issue, 'pull-request', NOW, null, {
            baseline: ['a'.repeat(40)],
            ...(claimDetail === undefined ? {} : { detail: claimDetail })
          })
          steps.forEach((s, i) => {
            record = apply(record, s as StepValue, i)
          })
          if (end) {
            const at = new Date(NOW.getTime() + 3600_000)
            record = endRecord(
              record,
              {
                action: end.ending,
                reason: end.reason,
                ci: null,
                detail: end.detail,
                interrupt: null
              },
              at
            )
            let entry = openOutboxEntry({
              key: `${record.runKey}-${kind}`,
              kind,
              reason: end.reason,
              channels: ['webhook', 'mention'],
              now: at
            })
            for (const d of deliveries) {
              entry = recordDelivery(entry, [{ channel: 'webhook', ok: d.ok, error: d.error }], at)
            }
            record = { ...record, outbox: [entry] }
          }
          const encoded = encode(record)
          expect(encoded.length).toBeLessThan(COMMENT_BUDGET_BYTES)
          const body = statusCommentBody(record, {
            issueUrl: `https://github.com/acme/widgets/issues/${issue}`,
            maxAttempts: 3,
            maxRuntimeSeconds: 6 * 3600,
            ci: 'red'
          })
          expect(byteLength(body)).toBeLessThanOrEqual(COMMENT_BUDGET_BYTES)
          const decoded = decode(body)
          expect(decoded.kind).toBe('ok')
        }
      ),
      { numRuns: 150 }
    )
  })
})
