import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { hasMarker } from '../../src/core/bookkeeping.js'
import {
  REASON_TEXT,
  formatDuration,
  noticeBody,
  noticeMarker,
  render,
  type ChecklistFacts
} from '../../src/core/checklist.js'
import { CI_STATUSES, DECISION_REASONS, LOOP_REASONS, PHASES } from '../../src/core/types.js'

function facts(overrides: Partial<ChecklistFacts> = {}): ChecklistFacts {
  return {
    repo: 'acme/widgets',
    issue: 7,
    phase: 'working',
    reason: 'agent-working',
    attempts: 0,
    maxAttempts: 3,
    claimedAt: '2026-11-24T01:00:00.000Z',
    deadlineAt: '2026-11-24T07:00:00.000Z',
    agent: { id: 'thread-1', url: 'https://t3.example/thread-1' },
    commit: null,
    ciStatus: null,
    history: [],
    ...overrides
  }
}

const arbitraryFacts: fc.Arbitrary<ChecklistFacts> = fc.record({
  repo: fc.constant('acme/widgets'),
  issue: fc.integer({ min: 1, max: 9999 }),
  phase: fc.constantFrom(...PHASES),
  reason: fc.constantFrom(...DECISION_REASONS, ...LOOP_REASONS),
  attempts: fc.integer({ min: 0, max: 5 }),
  maxAttempts: fc.integer({ min: 0, max: 5 }),
  claimedAt: fc.constant('2026-11-24T01:00:00.000Z'),
  deadlineAt: fc.constant('2026-11-24T07:00:00.000Z'),
  elapsedSeconds: fc.option(fc.nat(100_000), { nil: undefined }),
  agent: fc.option(
    fc.record({ id: fc.string({ minLength: 1 }), url: fc.option(fc.webUrl(), { nil: null }) }),
    { nil: null }
  ),
  commit: fc.option(
    fc.record({
      sha: fc.string({
        unit: fc.constantFrom(...'0123456789abcdef'),
        minLength: 40,
        maxLength: 40
      }),
      url: fc.option(fc.webUrl(), { nil: null })
    }),
    { nil: null }
  ),
  ciStatus: fc.option(fc.constantFrom(...CI_STATUSES), { nil: null }),
  history: fc.constant([])
})

describe('checklist.render', () => {
  it('explains every reason in words', () => {
    for (const reason of [...DECISION_REASONS, ...LOOP_REASONS]) {
      expect(REASON_TEXT[reason].length).toBeGreaterThan(10)
      expect(render(facts({ reason }))).toContain(REASON_TEXT[reason])
    }
  })

  it('is deterministic: equal facts give byte-identical text', () => {
    fc.assert(
      fc.property(arbitraryFacts, (f) => {
        expect(render(structuredClone(f))).toBe(render(f))
      }),
      { numRuns: 1000 }
    )
  })

  it('shows attempts n/max and the deadline while the run is in flight, with no running clock', () => {
    const text = render(facts({ attempts: 2, maxAttempts: 3 }))
    expect(text).toContain('**Fix-forward attempts:** 2/3')
    expect(text).toContain('2026-11-24T07:00:00.000Z')
    expect(text).not.toContain('Elapsed')
  })

  it('shows elapsed time once the run has ended', () => {
    const text = render(facts({ phase: 'done', reason: 'ci-green', elapsedSeconds: 3725 }))
    expect(text).toContain('**Elapsed:** 1h 2m')
    expect(text).toContain('afk-loop: ')
  })

  it('links the agent thread, the commit and the pull request', () => {
    const text = render(
      facts({
        phase: 'pushed',
        reason: 'ci-pending',
        commit: { sha: 'abcdef1234567890', url: 'https://github.com/acme/widgets/commit/abcdef1' },
        ciStatus: 'pending',
        deliveryUrl: 'https://github.com/acme/widgets/pull/9'
      })
    )
    expect(text).toContain('[thread-1](https://t3.example/thread-1)')
    expect(text).toContain('[`abcdef1`](https://github.com/acme/widgets/commit/abcdef1)')
    expect(text).toContain('https://github.com/acme/widgets/pull/9')
    expect(text).toMatch(/- \[x\] Pushed/)
    expect(text).toMatch(/- \[ \] CI green/)
  })

  it('shows ids without links when there are none', () => {
    const text = render(
      facts({
        agent: { id: 't-9', url: null },
        commit: { sha: '1234567890', url: null },
        phase: 'pushed'
      })
    )
    expect(text).toContain('`t-9`')
    expect(text).toContain('`1234567`')
  })

  it('tells a human what to do next when handed back, and how far the run got', () => {
    const pushed = render(
      facts({
        phase: 'handed-back',
        reason: 'fix-forward-budget-spent',
        commit: { sha: 'abc1234', url: null },
        ciStatus: 'red',
        elapsedSeconds: 60
      })
    )
    expect(pushed).toContain('**Next:** over to a human')
    expect(pushed).toContain('the pushed work')
    expect(pushed).toMatch(/- \[x\] Pushed/)
    const early = render(
      facts({ phase: 'handed-back', reason: 'agent-error', agent: null, elapsedSeconds: 60 })
    )
    expect(early).toMatch(/- \[x\] Claimed/)
    expect(early).toMatch(/- \[ \] Agent working/)
    const green = render(
      facts({
        phase: 'handed-back',
        reason: 'runtime-exceeded',
        commit: { sha: 'abc1234', url: null },
        ciStatus: 'green',
        elapsedSeconds: 60
      })
    )
    expect(green).toMatch(/- \[x\] CI green/)
    const working = render(
      facts({ phase: 'handed-back', reason: 'agent-stalled', elapsedSeconds: 60 })
    )
    expect(working).toMatch(/- \[x\] Agent working/)
    expect(working).toMatch(/- \[ \] Pushed/)
  })

  it('never mentions people in the status comment: an edit may not notify, the notice does', () => {
    const done = render(facts({ phase: 'done', reason: 'ci-green', elapsedSeconds: 1 }))
    expect(done).not.toMatch(/(^|\s)cc @/m)
  })

  it('the notice is short, mentions, links the status comment and carries its key once', () => {
    const body = noticeBody({
      mention: '@acme/team @bob',
      kind: 'frozen',
      reason: 'fix-forward-budget-spent',
      key: 'afk-1-frozen',
      statusUrl: 'https://github.com/acme/widgets/issues/7#issuecomment-9'
    })
    expect(body.startsWith('@acme/team @bob afk-loop: this run was frozen and handed back.')).toBe(
      true
    )
    expect(body).toContain('(https://github.com/acme/widgets/issues/7#issuecomment-9)')
    expect(body.split(noticeMarker('afk-1-frozen'))).toHaveLength(2)
    expect(body.length).toBeLessThan(400)
    expect(hasMarker(body)).toBe(false) // never taken for a status comment
  })

  it('renders history as a table whose cells cannot break it', () => {
    const text = render(
      facts({
        history: [
          {
            at: '2026-11-24T01:00:00.000Z',
            action: 'WAIT',
            reason: 'ci-pending',
            detail: 'a | b\nc'
          }
        ]
      })
    )
    expect(text).toContain('| 2026-11-24T01:00:00.000Z | WAIT | ci-pending: a \\| b c |')
    expect(text).toContain('<details><summary>History</summary>')
  })

  it('shows unknown CI as unknown', () => {
    expect(
      render(facts({ phase: 'pushed', commit: { sha: 'abc1234', url: null }, ciStatus: null }))
    ).toContain('CI unknown')
  })
})

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [-5, '0s'],
    [59, '59s'],
    [60, '1m'],
    [61, '1m 1s'],
    [3600, '1h'],
    [3725, '1h 2m'],
    [86_400 + 7200, '1d 2h'],
    [86_400 + 59, '1d'],
    [90.9, '1m 30s']
  ])('%p seconds → %p', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text)
  })
})
