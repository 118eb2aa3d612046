/**
 * The sweep's rules over plain facts: which running threads are orphan
 * candidates, how many a tick checks, and what GitHub's answer means.
 */
import { describe, expect, it } from '@jest/globals'
import {
  MAX_ORPHAN_CHECKS,
  orphanCandidates,
  orphanVerdict,
  parseAttemptKey,
  type SweepFacts
} from '../../src/core/orphans.js'
import { repoHash, runKeyPrefix } from '../../src/core/record-checks.js'

const APP = 'octo/app'
const LIB = 'octo/lib'
const key = (repo: string, issue: number, time = 'mi0abc', attempt = 0) =>
  `${runKeyPrefix(repo, issue)}${time}-a${attempt}`
const facts = (over: Partial<SweepFacts> = {}): SweepFacts => ({
  running: [],
  repos: [
    { key: APP, read: true },
    { key: LIB, read: true }
  ],
  knownRunKeys: new Set(),
  busy: new Set(),
  now: new Date('2026-11-26T05:00:00Z'),
  ...over
})

describe('parseAttemptKey', () => {
  it('takes apart the keys the loop makes, retries (r) and fix-forwards included', () => {
    expect(parseAttemptKey(key(APP, 12, 'mi0abcr', 2))).toEqual({
      runKey: `${runKeyPrefix(APP, 12)}mi0abcr`,
      repoHash: repoHash(APP),
      issue: 12,
      attempt: 2
    })
  })
  it.each([
    'afk-zzzzzzzz-1-abc-a0',
    'afk-0123abcd-0-abc-a0',
    'afk-0123abcd-1-abc',
    'afk-0123abcd-1-abc-a0-extra',
    '12345',
    'other afk-0123abcd-1-abc-a0'
  ])('refuses %s', (text) => {
    expect(parseAttemptKey(text)).toBeNull()
  })
})

describe('orphanCandidates', () => {
  const thread = (k: string, listedIn?: string) => ({
    threadId: k,
    key: k,
    ...(listedIn ? { listedIn } : {})
  })

  it('a running thread of an allowlisted, readable repository whose run is nowhere in view', () => {
    const k = key(APP, 3)
    expect(orphanCandidates(facts({ running: [thread(k)] })).candidates).toEqual([
      { threadId: k, key: k, runKey: k.replace(/-a0$/, ''), repo: APP, issue: 3 }
    ])
  })

  it.each<[string, Partial<SweepFacts>]>([
    ['its repository was not read', { repos: [{ key: APP, read: false }] }],
    ['its repository is not allowlisted', { repos: [{ key: LIB, read: true }] }],
    [
      'a record in view carries its run key',
      { knownRunKeys: new Set([key(APP, 3).replace(/-a0$/, '')]) }
    ],
    ['its issue is a candidate or was acted on this tick', { busy: new Set([`${APP}#3`]) }]
  ])('none when %s', (_name, over) => {
    expect(orphanCandidates(facts({ running: [thread(key(APP, 3))], ...over })).candidates).toEqual(
      []
    )
  })

  it('none for a run listed in one repository but keyed to another', () => {
    expect(orphanCandidates(facts({ running: [thread(key(APP, 3), LIB)] })).candidates).toEqual([])
    expect(
      orphanCandidates(facts({ running: [thread(key(APP, 3), APP)] })).candidates
    ).toHaveLength(1)
  })

  it('none when two allowlisted repositories share the hash (which one is unknowable)', () => {
    // A real FNV-1a collision, found by brute force.
    const [a, b] = ['octo/r2039599', 'octo/r2222382']
    expect(repoHash(a)).toBe(repoHash(b))
    const running = [thread(key(a, 3))]
    const one = [{ key: a, read: true }]
    expect(orphanCandidates(facts({ running, repos: one })).candidates).toHaveLength(1)
    const both = [...one, { key: b, read: true }]
    expect(orphanCandidates(facts({ running, repos: both })).candidates).toEqual([])
  })

  it(`at most ${MAX_ORPHAN_CHECKS} a tick, the window rotating with the minute so none starves`, () => {
    const running = Array.from({ length: 13 }, (_, i) => thread(key(APP, i + 1)))
    const seen = new Set<string>()
    for (let minute = 0; minute < 13; minute++) {
      const now = new Date(Date.UTC(2026, 10, 26, 5, minute))
      const { candidates, deferred } = orphanCandidates(facts({ running, now }))
      expect(candidates).toHaveLength(MAX_ORPHAN_CHECKS)
      expect(deferred).toBe(3)
      for (const c of candidates) seen.add(c.threadId)
    }
    expect(seen.size).toBe(13)
  })

  it('threads that are no attempt key of the loop are ignored', () => {
    expect(
      orphanCandidates(facts({ running: [{ threadId: '99', key: 'deploy' }] })).candidates
    ).toEqual([])
  })
})

describe('orphanVerdict', () => {
  const repos = [
    { key: APP, read: true },
    { key: LIB, read: false },
    { key: 'octo/docs', read: true }
  ]
  const at = { repo: APP, issue: 3 }
  it.each<[string, Parameters<typeof orphanVerdict>[0], string]>([
    ['404: transferred to or deleted where unreadable', { status: 404 }, 'interrupt'],
    ['410: deleted', { status: 410 }, 'interrupt'],
    ['301 not followed', { status: 301, to: null }, 'interrupt'],
    ['still here', { status: 200, repo: 'Octo/App', number: 3 }, 'leave'],
    [
      'followed to another repository, new number',
      { status: 200, repo: 'octo/other', number: 9 },
      'interrupt'
    ],
    [
      'followed to a readable allowlisted repository',
      { status: 200, repo: 'octo/docs', number: 9 },
      'interrupt'
    ],
    [
      'same number, another name: a renamed repository',
      { status: 200, repo: 'octo/app2', number: 3 },
      'leave'
    ],
    [
      'moved to an allowlisted repository not read this tick',
      { status: 200, repo: LIB, number: 9 },
      'wait'
    ]
  ])('%s → %s', (_name, where, act) => {
    expect(orphanVerdict(where, at, repos).act).toBe(act)
  })
})
