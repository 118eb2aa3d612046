import { describe, expect, it } from '@jest/globals'
import {
  DASHBOARD_MARKER,
  ENDINGS_LIMIT,
  coarseElapsed,
  dashboardMode,
  decodeDashboardRecord,
  emptyDashboardRecord,
  encodeDashboardRecord,
  readDashboard,
  renderDashboard,
  ticked,
  withEndings,
  type DashboardRecord
} from '../../src/core/dashboard.js'

const REPO = 'acme/widgets'
const SECRET = 'x'.repeat(40)
const NOW = '2026-01-02T03:04:05.000Z'

const body = (record: DashboardRecord, secret: string | null = null) =>
  renderDashboard({ repo: REPO, record, runs: [], pointsSpent: 3, secret })

const tick = (text: string, box: string, on: boolean) =>
  text.replace(`- [${on ? ' ' : 'x'}] **${box}**`, `- [${on ? 'x' : ' '}] **${box}**`)

describe('dashboard record', () => {
  it('round-trips, signed and unsigned, and refuses a wrong signature or repository', () => {
    const record = withEndings(emptyDashboardRecord(REPO), [
      { issue: 4, action: 'HAND_BACK', reason: 'no-<progress>', at: NOW }
    ])
    for (const secret of [null, SECRET]) {
      const decoded = decodeDashboardRecord(body(record, secret), REPO, secret)
      expect(decoded).toEqual({ ok: true, record })
    }
    expect(encodeDashboardRecord(record, null)).not.toContain('<progress>')
    expect(decodeDashboardRecord(body(record), REPO, SECRET)).toEqual({
      ok: false,
      why: 'its record is not signed with state-secret'
    })
    expect(decodeDashboardRecord(body(record, 'y'.repeat(40)), REPO, SECRET).ok).toBe(false)
    expect(decodeDashboardRecord(body(record), 'acme/other', null)).toEqual({
      ok: false,
      why: 'its record is for another repository'
    })
    expect(decodeDashboardRecord('no record', REPO, null)).toEqual({
      ok: false,
      why: 'it carries no record'
    })
    expect(decodeDashboardRecord(`${DASHBOARD_MARKER} v2\n{}\n-->`, REPO, null).ok).toBe(false)
    expect(decodeDashboardRecord(`${DASHBOARD_MARKER} v1\n{oops\n-->`, REPO, null)).toEqual({
      ok: false,
      why: 'its record does not parse'
    })
  })

  it('keeps the last endings only', () => {
    let record = emptyDashboardRecord(REPO)
    for (let i = 1; i <= ENDINGS_LIMIT + 5; i++) {
      record = withEndings(record, [
        { issue: i, action: 'CLOSE_SUCCESS', reason: 'landed', at: NOW }
      ])
    }
    expect(record.endings).toHaveLength(ENDINGS_LIMIT)
    expect(record.endings[0]?.issue).toBe(6)
    expect(body(record)).toContain('| #25 | CLOSE_SUCCESS | landed |')
  })
})

describe('dashboard checkboxes', () => {
  const base = body(emptyDashboardRecord(REPO))
  const trusted = ['OWNER', 'MEMBER', 'COLLABORATOR'] as const

  it('reads the boxes', () => {
    expect(ticked(base)).toEqual({ pause: false, handBack: false })
    expect(ticked(tick(base, 'Hand everything back', true))).toEqual({
      pause: false,
      handBack: true
    })
    expect(ticked('nothing')).toEqual({ pause: null, handBack: null })
  })

  it('applies a trusted tick and untick', () => {
    const v = readDashboard({
      repo: REPO,
      body: tick(base, 'Pause claiming', true),
      editors: [{ login: 'maint', association: 'COLLABORATOR' }],
      trusted: [...trusted],
      secret: null,
      now: NOW
    })
    expect(v.notes).toEqual([])
    expect(v.record.pause).toEqual({ by: 'maint', at: NOW })
    expect(dashboardMode('on', v.record)).toBe('watch')
    const text = body(v.record)
    expect(text).toContain('Paused by @maint at 2026-01-02 03:04 UTC.')
    const off = readDashboard({
      repo: REPO,
      body: tick(text, 'Pause claiming', false),
      editors: [{ login: 'maint', association: 'COLLABORATOR' }],
      trusted: [...trusted],
      secret: null,
      now: NOW
    })
    expect(off.record.pause).toBeNull()
  })

  it('ignores and notes a tick by an untrusted editor, and distrusts an unsigned record they touched', () => {
    const record = { ...emptyDashboardRecord(REPO), handBack: { by: 'acme', at: NOW } }
    const signed = body(record, SECRET)
    const edit = tick(signed, 'Pause claiming', true)
    const v = readDashboard({
      repo: REPO,
      body: edit,
      editors: [
        { login: 'owner', association: 'OWNER' },
        { login: 'helper', association: 'COLLABORATOR' }
      ],
      trusted: ['OWNER'],
      secret: SECRET,
      now: NOW
    })
    expect(v.record.pause).toBeNull()
    expect(v.record.handBack).toEqual({ by: 'acme', at: NOW })
    expect(v.notes).toEqual([
      `Ignored on the dashboard of ${REPO}: "Pause claiming" was ticked in an edit by @helper (COLLABORATOR), not in trusted-associations.`
    ])
    expect(v.record.ignored).toEqual([{ by: 'helper', box: 'Pause claiming', at: NOW }])
    expect(body(v.record)).toContain('Ignored: @helper changed "Pause claiming"')

    const unsigned = readDashboard({
      repo: REPO,
      body: tick(body(record), 'Pause claiming', true),
      editors: [{ login: 'helper', association: 'NONE' }],
      trusted: ['OWNER'],
      secret: null,
      now: NOW
    })
    expect(unsigned.record.handBack).toBeNull()
    expect(unsigned.notes[0]).toContain('was reset: edited by @helper')
  })

  it('starts afresh from a body without a record, and only ever makes the mode stricter', () => {
    const v = readDashboard({
      repo: REPO,
      body: 'hello',
      editors: [],
      trusted: ['OWNER'],
      secret: null,
      now: NOW
    })
    expect(v.record).toEqual(emptyDashboardRecord(REPO))
    expect(v.notes[0]).toContain('carries no record')
    const stop = { ...emptyDashboardRecord(REPO), handBack: { by: 'a', at: NOW } }
    expect(dashboardMode('on', stop)).toBe('stop')
    expect(dashboardMode('watch', stop)).toBe('stop')
    expect(dashboardMode('on', null)).toBe('on')
    const pause = { ...emptyDashboardRecord(REPO), pause: { by: 'a', at: NOW } }
    expect(dashboardMode('watch', pause)).toBe('watch')
    expect(dashboardMode('stop', pause)).toBe('stop')
  })
})

describe('dashboard text', () => {
  it('shows runs with whole hours and deadlines, and no points when unknown', () => {
    const text = renderDashboard({
      repo: REPO,
      record: emptyDashboardRecord(REPO),
      runs: [
        {
          issue: 7,
          url: 'https://github.com/acme/widgets/issues/7',
          phase: 'working',
          attempts: 1,
          maxAttempts: 3,
          elapsedSeconds: 7300,
          deadline: NOW
        }
      ],
      pointsSpent: null,
      secret: null
    })
    expect(text).toContain(
      '| [#7](https://github.com/acme/widgets/issues/7) | working | 1/3 | 2h | 2026-01-02 03:04 UTC |'
    )
    expect(text).toContain('did not learn its GitHub points')
    expect(coarseElapsed(null)).toBe('-')
    expect(coarseElapsed(3599)).toBe('under 1h')
    expect(body(emptyDashboardRecord(REPO))).toContain('spent 3 GitHub GraphQL points.')
  })
})
