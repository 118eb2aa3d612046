/**
 * Run records for tests: a plain builder and a fast-check arbitrary that
 * covers every field of the schema (unicode, `-->`, `<`, long strings), so
 * properties of the bookkeeping are tested on records the loop could write.
 */
import fc from 'fast-check'
import type { RunRecord } from '../src/core/bookkeeping.js'
import {
  ACTIONS,
  CI_STATUSES,
  DECISION_REASONS,
  DOORBELL_KINDS,
  ENDINGS,
  LOOP_REASONS
} from '../src/core/types.js'

/** A minimal valid record, with overrides. */
export function record(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    v: 1,
    repo: 'acme/widgets',
    issue: 7,
    runKey: 'afk-1a2b3c-7-lx0',
    claimedAt: '2026-11-24T01:00:00.000Z',
    delivery: 'pull-request',
    baseline: [],
    fixForwardAttempts: 0,
    threads: [],
    intent: null,
    commit: null,
    idleSince: null,
    outbox: [],
    terminal: null,
    history: [{ at: '2026-11-24T01:00:00.000Z', action: 'CLAIM', reason: 'claimed' }],
    ...overrides
  }
}

const iso = fc
  .date({
    min: new Date('2020-01-01T00:00:00Z'),
    max: new Date('2035-01-01T00:00:00Z'),
    noInvalidDate: true
  })
  .map((d) => d.toISOString())
/** Text that stresses the encoding: unicode, HTML comment terminators, angle brackets. */
const nasty = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('-->', '<!-- afk-loop:record v1', '</details>', '&amp;', '\u2028', '😀'),
  fc.string({ maxLength: 40 })
)
const nonEmpty = nasty.filter((s) => s.length > 0)
const reason = fc.constantFrom(...DECISION_REASONS, ...LOOP_REASONS)
const count = fc.integer({ min: 0, max: 50 })

const thread = fc.record({
  id: nonEmpty,
  url: fc.option(nasty, { nil: null }),
  attempt: count,
  key: nonEmpty,
  dispatchedAt: iso
})

const outbox = fc.record({
  key: nonEmpty,
  kind: fc.constantFrom(...DOORBELL_KINDS),
  reason,
  createdAt: iso,
  tries: count,
  nextTryAt: iso,
  pending: fc.array(nonEmpty, { maxLength: 3 }),
  delivered: fc.array(nonEmpty, { maxLength: 3 }),
  abandonedAt: fc.option(iso, { nil: null }),
  lastError: fc.option(nasty, { nil: null })
})

/** Any record the schema accepts. */
export const arbitraryRecord: fc.Arbitrary<RunRecord> = fc.record({
  v: fc.constant(1 as const),
  repo: fc.constantFrom('acme/widgets', 'Org-1/repo.name', 'a/b'),
  issue: fc.integer({ min: 1, max: 1_000_000 }),
  runKey: nonEmpty,
  claimedAt: iso,
  delivery: fc.constantFrom('pull-request' as const, 'trunk' as const),
  baseline: fc.array(fc.stringMatching(/^[0-9a-f]{40}$/), { maxLength: 3 }),
  fixForwardAttempts: count,
  threads: fc.array(thread, { maxLength: 5 }),
  intent: fc.option(
    fc.record({
      kind: fc.constant('dispatch' as const),
      key: nonEmpty,
      attempt: count,
      at: iso,
      commit: fc.option(nonEmpty, { nil: null }),
      failures: count,
      lastError: fc.option(nasty, { nil: null })
    }),
    { nil: null }
  ),
  commit: fc.option(
    fc.record({ sha: nonEmpty, firstSeenAt: iso, pullRequestUrl: fc.option(nasty, { nil: null }) }),
    { nil: null }
  ),
  idleSince: fc.option(iso, { nil: null }),
  outbox: fc.array(outbox, { maxLength: 2 }),
  terminal: fc.option(
    fc.record({
      action: fc.constantFrom(...ENDINGS),
      reason,
      at: iso,
      ci: fc.option(fc.constantFrom(...CI_STATUSES), { nil: null }),
      detail: fc.option(nasty, { nil: null }),
      interrupt: fc.option(nonEmpty, { nil: null })
    }),
    { nil: null }
  ),
  history: fc.array(
    fc.record(
      {
        at: iso,
        action: fc.constantFrom(
          ...ACTIONS,
          'CLAIM' as const,
          'HAND_BACK' as const,
          'RELEASE' as const
        ),
        reason,
        detail: nasty
      },
      { requiredKeys: ['at', 'action', 'reason'] }
    ),
    { maxLength: 10 }
  )
})
