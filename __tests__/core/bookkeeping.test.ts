import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import {
  COMMENT_BUDGET_BYTES,
  HISTORY_LIMIT,
  MARKER,
  byteLength,
  composeComment,
  decode,
  encode,
  hasMarker,
  truncateBytes,
  withHistory,
  type RunRecord
} from '../../src/core/bookkeeping.js'
import { arbitraryRecord, record } from '../../__fixtures__/records.js'

const RUNS = 1000

/** The JSON inside a block, for tests that tamper with it. */
function jsonOf(block: string): Record<string, unknown> {
  const lines = block.split('\n')
  return JSON.parse(lines[1] ?? '') as Record<string, unknown>
}
function blockOf(json: unknown, header = 'v1'): string {
  return `${MARKER} ${header}\n${JSON.stringify(json)}\n-->`
}

describe('encode / decode', () => {
  it('round-trips every record the schema accepts', () => {
    fc.assert(
      fc.property(arbitraryRecord, (r) => {
        const decoded = decode(`Some visible text\n\n${encode(r)}`)
        expect(decoded).toEqual({ kind: 'ok', record: r })
      }),
      { numRuns: RUNS }
    )
  })

  it('writes an ASCII-only block that cannot close the HTML comment early', () => {
    fc.assert(
      fc.property(arbitraryRecord, (r) => {
        const block = encode(r)
        expect(/^[\x20-\x7e\n]*$/.test(block)).toBe(true)
        // Exactly one terminator: the block's own, at the very end.
        expect(block.indexOf('-->')).toBe(block.length - 3)
        expect(block.slice(MARKER.length).includes('<')).toBe(false)
      }),
      { numRuns: RUNS }
    )
  })

  it('is canonical: key order in the input does not change the output', () => {
    const r = record()
    const shuffled = Object.fromEntries(Object.entries(r).reverse()) as RunRecord
    expect(encode(shuffled)).toBe(encode(r))
  })

  it('refuses to encode a record it could not read back', () => {
    expect(() => encode(record({ issue: -1 }))).toThrow()
  })

  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        const decoded = decode(s)
        expect(['ok', 'absent', 'corrupt']).toContain(decoded.kind)
        expect(decode(`${MARKER} ${s}`).kind).not.toBe('ok')
      }),
      { numRuns: RUNS }
    )
  })

  it('never throws on mutated valid blocks, and never reads a mutation as a different valid record silently unless the schema accepts it', () => {
    fc.assert(
      fc.property(
        arbitraryRecord,
        fc.nat(),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }),
        fc.constantFrom('insert', 'delete', 'replace'),
        (r, at, text, op) => {
          const block = encode(r)
          const i = at % block.length
          const mutated =
            op === 'insert'
              ? block.slice(0, i) + text + block.slice(i)
              : op === 'delete'
                ? block.slice(0, i) + block.slice(i + text.length)
                : block.slice(0, i) + text + block.slice(i + text.length)
          const decoded = decode(mutated)
          expect(['ok', 'absent', 'corrupt']).toContain(decoded.kind)
          // Whatever decodes as ok is a record the schema accepts: it re-encodes.
          if (decoded.kind === 'ok') expect(() => encode(decoded.record)).not.toThrow()
        }
      ),
      { numRuns: RUNS }
    )
  })

  it('says absent when there is no marker', () => {
    expect(decode('just a comment')).toEqual({ kind: 'absent' })
    expect(hasMarker('just a comment')).toBe(false)
    expect(hasMarker(`x ${encode(record())}`)).toBe(true)
  })

  it.each([
    ['an unclosed block', `${MARKER} v1\n{}`, 'not closed'],
    ['a block without a body', `${MARKER} v1 -->`, 'no body'],
    ['a strange header', `${MARKER} version-one\n{}\n-->`, 'unrecognised record header'],
    ['invalid JSON', `${MARKER} v1\n{nope\n-->`, 'not valid JSON'],
    ['a JSON array', `${MARKER} v1\n[1]\n-->`, 'not a JSON object'],
    ['no version', blockOf({ repo: 'a/b' }), 'no version'],
    ['a newer version', blockOf({ ...record(), v: 2 }), 'newer afk-loop'],
    ['an old version with no migration', blockOf({ ...record(), v: 0 }), "can't be migrated"],
    ['a schema violation', blockOf({ ...record(), issue: 'seven' }), 'invalid issue']
  ])('reports %s as corrupt with a reason', (_name, body, reason) => {
    const decoded = decode(body)
    expect(decoded.kind).toBe('corrupt')
    expect(decoded.kind === 'corrupt' && decoded.reason).toContain(reason)
  })

  it('reads the last block when a comment quotes an older one', () => {
    const older = encode(record({ issue: 1 }))
    const newer = encode(record({ issue: 2 }))
    const decoded = decode(`> ${older}\n\n${newer}`)
    expect(decoded.kind === 'ok' && decoded.record.issue).toBe(2)
  })

  it('keeps the JSON readable by any JSON parser', () => {
    const r = record({ terminal: null, history: [] })
    expect(jsonOf(encode(r))).toMatchObject({ v: 1, repo: 'acme/widgets', issue: 7 })
  })
})

describe('history and the comment budget', () => {
  const entry = (i: number) => ({
    at: new Date(Date.UTC(2026, 10, 24, 0, 0, i)).toISOString(),
    action: 'WAIT' as const,
    reason: 'agent-working' as const,
    detail: `tick ${i}`
  })

  it(`keeps at most ${HISTORY_LIMIT} history entries, newest last`, () => {
    let r = record({ history: [] })
    for (let i = 0; i < HISTORY_LIMIT + 7; i++) r = withHistory(r, entry(i))
    expect(r.history).toHaveLength(HISTORY_LIMIT)
    expect(r.history.at(-1)?.detail).toBe(`tick ${HISTORY_LIMIT + 6}`)
    expect(r.history[0]?.detail).toBe('tick 7')
  })

  it('trims history oldest-first to fit the budget, never the essential fields', () => {
    const big = 'é'.repeat(500) // ~4000 bytes per entry once rendered and escaped
    const r = record({
      history: Array.from({ length: HISTORY_LIMIT }, (_, i) => ({ ...entry(i), detail: big }))
    })
    const render = (x: RunRecord) => x.history.map((h) => h.detail).join('\n')
    const body = composeComment(r, render)
    expect(byteLength(body)).toBeLessThanOrEqual(COMMENT_BUDGET_BYTES)
    const decoded = decode(body)
    expect(decoded.kind).toBe('ok')
    if (decoded.kind !== 'ok') return
    expect(decoded.record.history.length).toBeGreaterThan(0)
    expect(decoded.record.history.length).toBeLessThan(HISTORY_LIMIT)
    // The newest entry survives; only the oldest were dropped.
    expect(decoded.record.history.at(-1)?.at).toBe(r.history.at(-1)?.at)
    const { history: _h1, ...essentials } = decoded.record
    const { history: _h2, ...expected } = r
    expect(essentials).toEqual(expected)
  })

  it('stays within any budget for any record, cutting visible text last', () => {
    fc.assert(
      fc.property(arbitraryRecord, fc.integer({ min: 0, max: 20_000 }), (r, visibleSize) => {
        const visible = 'x'.repeat(visibleSize)
        const budget = byteLength(encode({ ...r, history: [] })) + 200
        const body = composeComment(r, () => visible, budget)
        expect(byteLength(body)).toBeLessThanOrEqual(budget)
        expect(decode(body).kind).toBe('ok')
      }),
      { numRuns: 200 }
    )
  })

  it('leaves a comment that fits untouched', () => {
    const r = record()
    expect(composeComment(r, () => 'visible')).toBe(`visible\n\n${encode(r)}`)
  })

  it('cuts text on character boundaries', () => {
    expect(truncateBytes('aé😀', 3)).toBe('aé')
    expect(truncateBytes('aé😀', 6)).toBe('aé')
    expect(truncateBytes('aé😀', 7)).toBe('aé😀')
    expect(truncateBytes('abc', 10)).toBe('abc')
  })
})

describe('the record MAC (state-secret)', () => {
  const seal = { secret: 'state-secret-0123456789', repo: 'acme/widgets', issue: 7, issueId: 'I_7' }

  it('round-trips sealed records, and reads them without a seal too', () => {
    fc.assert(
      fc.property(arbitraryRecord, (r) => {
        const s = { ...seal, repo: r.repo, issue: r.issue }
        const block = encode(r, s)
        expect(block.split('\n')[0]).toMatch(/^<!-- afk-loop:record v1 hmac-sha256=[0-9a-f]{64}$/)
        expect(decode(`text\n\n${block}`, s)).toEqual({ kind: 'ok', record: r })
        expect(decode(block)).toEqual({ kind: 'ok', record: r })
      }),
      { numRuns: 200 }
    )
  })

  it('trusts nothing it cannot verify: no MAC, a changed record, another issue, another secret', () => {
    const r = record()
    const sealed = encode(r, seal)
    const header = sealed.split('\n')[0] ?? ''
    const cases: [string, string, typeof seal][] = [
      ['an old v1 record without a MAC', encode(r), seal],
      [
        'a record changed after sealing',
        `${header}\n${JSON.stringify({ ...jsonOf(sealed), fixForwardAttempts: 0, claimedAt: '2026-11-25T00:00:00.000Z' })}\n-->`,
        seal
      ],
      ['a record copied to another issue', sealed, { ...seal, issue: 8 }],
      ['a record copied to another repository', sealed, { ...seal, repo: 'acme/other' }],
      [
        'an issue transferred with its comment (same node id, new home)',
        sealed,
        { ...seal, repo: 'acme/other', issue: 1 }
      ],
      ['the same number, another issue node', sealed, { ...seal, issueId: 'I_other' }],
      ['another secret', sealed, { ...seal, secret: 'another-secret-0123456789' }]
    ]
    for (const [name, body, s] of cases) {
      const decoded = decode(body, s)
      expect({ name, kind: decoded.kind }).toEqual({ name, kind: 'unverified' })
    }
    expect(decode(encode(r), seal)).toMatchObject({ reason: expect.stringContaining('no MAC') })
    expect(decode(sealed, { ...seal, issue: 8 })).toMatchObject({
      reason: expect.stringContaining('does not verify')
    })
    // Repository names compare case-insensitively, as GitHub's do.
    expect(decode(sealed, { ...seal, repo: 'ACME/Widgets' }).kind).toBe('ok')
  })

  it('a malformed MAC is a corrupt header, not a crash', () => {
    const body = encode(record()).replace(' v1\n', ' v1 hmac-sha256=xyz\n')
    expect(decode(body, seal)).toMatchObject({ kind: 'corrupt' })
  })
})
