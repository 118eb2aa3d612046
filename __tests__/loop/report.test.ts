/**
 * The job summary: points spent and left, why claims were held back, and a
 * size that stays under GitHub's 1 MiB limit however many runs there are.
 */
import { describe, expect, it } from '@jest/globals'
import {
  SUMMARY_BYTES,
  SUMMARY_ROWS,
  summaryLine,
  summaryMarkdown,
  type RunRow,
  type TickReport
} from '../../src/loop/report.js'

const row = (issue: number, action = 'WAIT', error: string | null = null): RunRow => ({
  repo: 'octo/app',
  issue,
  url: `https://github.com/octo/app/issues/${issue}`,
  action,
  reason: 'agent-running',
  phase: 'working',
  attempts: 0,
  maxAttempts: 2,
  elapsedSeconds: 600,
  threadId: `afk-octo-app-${issue}-0-${'x'.repeat(40)}`,
  threadUrl: null,
  commit: null,
  note: 'n'.repeat(200),
  error
})

const report = (rows: RunRow[], extra: Partial<TickReport> = {}): TickReport => ({
  mode: 'on',
  dryRun: false,
  rows,
  warnings: [],
  repoErrors: [],
  agentError: null,
  counts: { writes: 0, dispatches: 0, interrupts: 0, notifications: 0 },
  writesStopped: null,
  plan: [],
  undeliverable: [],
  labelsCreated: [],
  permissionFailures: [],
  ...extra
})

describe('the job summary', () => {
  it('says what the tick spent in GitHub points, what is left, and why claims were held back', () => {
    const r = report([row(1)], {
      points: { spent: 3, remaining: 12, limit: 1000, resetAt: '2026-11-26T03:00:00Z' },
      budget: 'Claimed nothing new: 12 GitHub points left'
    })
    expect(summaryLine(r)).toContain('3 GitHub point(s) spent, 12 left')
    const md = summaryMarkdown(r)
    expect(md).toContain('GitHub GraphQL points: 3 spent this tick; 12 of 1000 left')
    expect(md).toContain('**Points budget:** Claimed nothing new')
  })

  it('lists every row up to a few hundred', () => {
    const md = summaryMarkdown(report(Array.from({ length: SUMMARY_ROWS }, (_, i) => row(i + 1))))
    expect(md.match(/^\| \[octo\/app#/gm)).toHaveLength(SUMMARY_ROWS)
    expect(md).not.toContain('more run(s) not listed')
  })

  it('past that, lists what needs eyes first and counts the rest, under 1 MiB for 100,000 rows', () => {
    const rows = Array.from({ length: 100_000 }, (_, i) =>
      row(i + 1, i === 99_999 ? 'FIX_FORWARD' : 'WAIT', i === 50_000 ? 'boom' : null)
    )
    const md = summaryMarkdown(report(rows))
    expect(Buffer.byteLength(md, 'utf8')).toBeLessThan(SUMMARY_BYTES)
    expect(md.match(/^\| \[octo\/app#/gm)).toHaveLength(SUMMARY_ROWS)
    expect(md).toContain('[octo/app#100000]')
    expect(md).toContain('[octo/app#50001]')
    expect(md).toContain(
      `…and ${100_000 - SUMMARY_ROWS} more run(s) not listed: ${100_000 - SUMMARY_ROWS} WAIT`
    )
  })

  it('cuts a summary whose warnings alone would pass the limit', () => {
    const md = summaryMarkdown(
      report([], { warnings: Array.from({ length: 3000 }, () => 'w'.repeat(1000)) })
    )
    expect(Buffer.byteLength(md, 'utf8')).toBeLessThanOrEqual(SUMMARY_BYTES)
    expect(md).toContain('1 MiB job-summary limit')
  })
})
