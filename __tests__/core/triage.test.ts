/**
 * The triage table, tested like `decide`'s: one case per row, every row
 * reachable, the first matching row wins, total over every combination of
 * facts, and the promises it keeps (untrusted bookkeeping is never driven; a
 * takeover wins over the emergency stop).
 */
import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { triage, TRIAGE_RULES, type TriageFacts } from '../../src/core/triage.js'

const base: TriageFacts = {
  inProgress: true,
  comment: 'present',
  transfer: 'none',
  record: 'ok',
  ended: false,
  unfinishedClaim: false,
  takeover: false,
  stopping: false
}

const rows: [string, Partial<TriageFacts>, number, string][] = [
  ['no comment, not in progress', { comment: 'missing', inProgress: false }, 1, 'skip'],
  ['no comment, in progress', { comment: 'missing' }, 2, 'hand-back-untrusted'],
  ['edited, not in progress', { comment: 'edited', inProgress: false }, 3, 'skip'],
  ['edited, in progress', { comment: 'edited', takeover: true }, 4, 'hand-back-untrusted'],
  ['moved here, origin unread', { transfer: 'unconfirmed', record: 'corrupt' }, 5, 'skip'],
  ['moved here, confirmed', { transfer: 'confirmed', record: 'corrupt' }, 6, 'release-transferred'],
  ['unverified, not in progress', { record: 'unverified', inProgress: false }, 7, 'skip'],
  ['unverified, in progress', { record: 'unverified', ended: true }, 8, 'hand-back-untrusted'],
  ['corrupt, not in progress', { record: 'corrupt', inProgress: false }, 9, 'skip'],
  ['corrupt, in progress', { record: 'corrupt', stopping: true }, 10, 'hand-back-untrusted'],
  ['ended', { ended: true, inProgress: false, takeover: true }, 11, 'finish'],
  [
    'a claim that died midway',
    { unfinishedClaim: true, inProgress: false, takeover: true },
    12,
    'skip'
  ],
  ['a human took over, even in stop mode', { takeover: true, stopping: true }, 13, 'release'],
  ['emergency stop', { stopping: true }, 14, 'emergency-stop'],
  ['a resumed claim still in progress is driven', { unfinishedClaim: true }, 15, 'drive'],
  ['otherwise', {}, 15, 'drive']
]

describe('triage', () => {
  it.each(rows)('%s → row %i (%s)', (_name, facts, row, route) => {
    const rule = triage({ ...base, ...facts })
    expect({ row: rule.row, route: rule.route }).toEqual({ row, route })
  })

  it('every row is reached by some case, and the rows are numbered in order', () => {
    expect(new Set(rows.map(([, , row]) => row))).toEqual(new Set(TRIAGE_RULES.map((r) => r.row)))
    expect(TRIAGE_RULES.map((r) => r.row)).toEqual(TRIAGE_RULES.map((_r, i) => i + 1))
  })

  it('hand-backs name their reason, skips their note', () => {
    for (const rule of TRIAGE_RULES) {
      if (rule.route === 'hand-back-untrusted') expect(rule.reason).toMatch(/^record-/)
      if (rule.route === 'skip') expect(rule.note?.length).toBeGreaterThan(0)
    }
  })

  const anyFacts = fc.record({
    inProgress: fc.boolean(),
    comment: fc.constantFrom('missing' as const, 'edited' as const, 'present' as const),
    transfer: fc.constantFrom('none' as const, 'unconfirmed' as const, 'confirmed' as const),
    record: fc.constantFrom('ok' as const, 'unverified' as const, 'corrupt' as const),
    ended: fc.boolean(),
    unfinishedClaim: fc.boolean(),
    takeover: fc.boolean(),
    stopping: fc.boolean()
  })

  it('is total, and picks the first rule that holds', () => {
    fc.assert(
      fc.property(anyFacts, (facts) => {
        const rule = triage(facts)
        const first = TRIAGE_RULES.find((r) => r.when(facts))
        expect(rule).toBe(first)
      })
    )
  })

  it('never drives, finishes or releases a run whose bookkeeping is not trusted', () => {
    fc.assert(
      fc.property(anyFacts, (facts) => {
        const trusted =
          facts.comment === 'present' && facts.transfer === 'none' && facts.record === 'ok'
        const route = triage(facts).route
        if (!trusted)
          expect(['skip', 'hand-back-untrusted', 'release-transferred']).toContain(route)
        if (route === 'drive' || route === 'emergency-stop') expect(facts.takeover).toBe(false)
      })
    )
  })
})
