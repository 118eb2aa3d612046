/**
 * What a tick did, for people (the job summary, the demo) and for machines
 * (the `runs` output). One row per run the tick looked at.
 */
import { formatDuration } from '../core/checklist.js'
import type { Phase } from '../core/types.js'
import type { PermissionFailure } from './effects.js'
import type { PointsReport } from './ports.js'

/** What happened to one run this tick. */
export interface RunRow {
  repo: string
  issue: number
  url: string
  /** The verdict: a state-machine action, or the loop's own (CLAIM, HAND_BACK, RELEASE, SKIP, …). */
  action: string
  reason: string
  phase: Phase | null
  attempts: number
  maxAttempts: number
  elapsedSeconds: number | null
  /** When the run was claimed (for its deadline on the dashboard), when known. */
  claimedAt?: string | null
  threadId: string | null
  threadUrl: string | null
  commit: string | null
  /** Extra words: why skipped, what failed. */
  note: string | null
  /** Set when acting on this run failed this tick (it is retried next tick). */
  error: string | null
}

/**
 * An agent stopped because its issue left the loop's view (transferred to a
 * repository the loop can't read, or deleted): no status comment is left to
 * say so, so the job summary does.
 */
export interface OrphanRow {
  /** Where the run was claimed (`owner/name`). */
  repo: string
  issue: number
  threadId: string
  /** What GitHub said about the issue, in words. */
  why: string
  /** Set when the interrupt failed (the next tick tries again). */
  error: string | null
}

export interface TickReport {
  mode: string
  dryRun: boolean
  rows: RunRow[]
  /** Agents interrupted (or, in a dry run, to interrupt) because their issue left the loop's view. */
  orphans?: OrphanRow[]
  warnings: string[]
  /** Repositories that could not be read this tick. */
  repoErrors: { repo: string; error: string }[]
  agentError: string | null
  counts: { writes: number; dispatches: number; interrupts: number; notifications: number }
  /** Why writing stopped early (primary rate limit), if it did. */
  writesStopped: string | null
  /** Dry run: what would have been done. */
  plan: string[]
  /** Notifications that ran out of retries. */
  undeliverable: { repo: string; issue: number; kind: string; error: string | null }[]
  /** GitHub GraphQL points: spent this tick (reads' rateLimit.cost + 1 per write) and left. */
  points?: PointsReport | null
  /** Why the tick claimed nothing new or left runs for the next tick (points), if it did. */
  budget?: string | null
  /** The loop's labels created this tick (`owner/name: label`). */
  labelsCreated: string[]
  /** Writes GitHub refused for lack of permission: they fail the step. */
  permissionFailures: PermissionFailure[]
  /** Dashboard issues written this tick (`owner/name: created|updated`). */
  dashboards?: string[]
}

/** The tick in numbers, for the scalar outputs and the summary line. */
export interface TickCounts {
  claimed: number
  inFlight: number
  fixForward: number
  landed: number
  handedBack: number
  released: number
  errors: number
}

const HANDED_BACK = ['ESCALATE_PREPUSH', 'FREEZE_ESCALATE', 'HAND_BACK']

/** Count the rows by what happened; errors include unreadable repositories and refused writes. */
export function tickCounts(report: TickReport): TickCounts {
  const count = (pred: (r: RunRow) => boolean): number => report.rows.filter(pred).length
  return {
    claimed: count((r) => r.action === 'CLAIM'),
    inFlight: count((r) => ['WAIT', 'FIX_FORWARD'].includes(r.action)),
    fixForward: count((r) => r.action === 'FIX_FORWARD'),
    landed: count((r) => r.action === 'CLOSE_SUCCESS'),
    handedBack: count((r) => HANDED_BACK.includes(r.action)),
    released: count((r) => r.action === 'RELEASE'),
    errors:
      count((r) => r.error !== null) +
      report.repoErrors.length +
      report.permissionFailures.length +
      (report.orphans ?? []).filter((o) => o.error !== null).length
  }
}

/** Rows listed one by one in the job summary; past this, the rest are summarised. */
export const SUMMARY_ROWS = 300
/** GitHub refuses a job summary over 1 MiB; stay well under it. */
export const SUMMARY_BYTES = 1_000_000

/** The `runs` output: the decisions, without presentation. */
export function runsOutput(report: TickReport): string {
  return JSON.stringify(
    report.rows.map((r) => ({
      repo: r.repo,
      issue: r.issue,
      action: r.action,
      reason: r.reason,
      phase: r.phase,
      attempts: r.attempts,
      threadId: r.threadId,
      commit: r.commit
    }))
  )
}

const TERMINAL_WORDS: Readonly<Record<string, string>> = {
  CLOSE_SUCCESS: 'landed',
  ESCALATE_PREPUSH: 'handed back',
  FREEZE_ESCALATE: 'frozen',
  HAND_BACK: 'handed back',
  RELEASE: 'released to a human'
}

/** One line for the `summary` output and the log. */
export function summaryLine(report: TickReport): string {
  const c = tickCounts(report)
  const parts = [
    `${c.claimed} claimed`,
    `${c.inFlight} in flight`,
    `${c.fixForward} fix-forward`,
    `${c.landed} landed`,
    `${c.handedBack} handed back`,
    `${c.released} released`
  ]
  const errors = c.errors
  const p = report.points
  const tail = [
    p
      ? `${p.spent} GitHub point(s) spent${p.remaining !== null ? `, ${p.remaining} left` : ''}`
      : null,
    report.budget ? 'claims held back by the points budget' : null,
    report.orphans?.length
      ? `${report.orphans.length} agent(s) of issues out of view ${report.dryRun ? 'to stop' : 'stopped'}`
      : null,
    errors > 0 ? `${errors} error(s)` : null,
    report.writesStopped ? 'writes stopped by the rate limit' : null,
    report.dryRun ? 'dry run' : null
  ].filter(Boolean)
  return `afk-loop (${report.mode}): ${parts.join(', ')}${tail.length ? `; ${tail.join('; ')}` : ''}`
}

/** The job summary's markdown table. */
export function summaryMarkdown(report: TickReport): string {
  const lines = [`### afk-loop tick (${report.mode}${report.dryRun ? ', dry run' : ''})`, '']
  lines.push(summaryLine(report), '')
  if (report.rows.length > 0) {
    // Past a few hundred rows, list what needs eyes (errors, anything but a
    // wait) first, and count the rest by action: the summary stays readable
    // and under GitHub's 1 MiB limit however many runs are in flight.
    const shown =
      report.rows.length <= SUMMARY_ROWS
        ? report.rows
        : [...report.rows]
            .map((r, i) => ({ r, i, rank: r.error ? 0 : r.action === 'WAIT' ? 2 : 1 }))
            .sort((a, b) => a.rank - b.rank || a.i - b.i)
            .slice(0, SUMMARY_ROWS)
            .sort((a, b) => a.i - b.i)
            .map((x) => x.r)
    lines.push('| issue | phase | action | reason | attempts | elapsed | agent | note |')
    lines.push('|---|---|---|---|---|---|---|---|')
    for (const r of shown) {
      const agent = r.threadId ? (r.threadUrl ? `[${r.threadId}](${r.threadUrl})` : r.threadId) : ''
      const action = TERMINAL_WORDS[r.action]
        ? `${r.action} (${TERMINAL_WORDS[r.action]})`
        : r.action
      lines.push(
        `| [${r.repo}#${r.issue}](${r.url}) | ${r.phase ?? ''} | ${action} | ${r.reason} | ${r.attempts}/${r.maxAttempts} | ${r.elapsedSeconds === null ? '' : formatDuration(r.elapsedSeconds)} | ${agent} | ${cell([r.note, r.error ? `error: ${r.error}` : null].filter(Boolean).join('; '))} |`
      )
    }
    if (shown.length < report.rows.length) {
      const rest = new Map<string, number>()
      const listed = new Set(shown)
      for (const r of report.rows)
        if (!listed.has(r)) rest.set(r.action, (rest.get(r.action) ?? 0) + 1)
      lines.push(
        '',
        `…and ${report.rows.length - shown.length} more run(s) not listed: ${[...rest.entries()].map(([a, n]) => `${n} ${a}`).join(', ')} (every run is in the \`runs\` output).`
      )
    }
    lines.push('')
  }
  const c = report.counts
  lines.push(
    `Totals: ${report.rows.length} run(s); ${c.writes} write(s), ${c.dispatches} dispatch(es), ${c.interrupts} interrupt(s), ${c.notifications} notification(s).`
  )
  const orphans = report.orphans ?? []
  if (orphans.length > 0) {
    lines.push(
      '',
      `**Agents ${report.dryRun ? 'to stop' : 'stopped'} whose issue left the loop's view** (no status comment is left to say so):`,
      ''
    )
    for (const o of orphans) {
      const done = o.error
        ? `could not interrupt thread ${o.threadId} yet: ${o.error}`
        : `thread ${o.threadId} ${report.dryRun ? 'would be interrupted' : 'interrupted'}`
      lines.push(`- ${o.repo}#${o.issue}: ${cell(o.why)}; ${cell(done)}.`)
    }
  }
  for (const f of report.permissionFailures) {
    lines.push('', `**Missing permission in ${f.repo}: \`${f.permission}\`** — ${f.error}`)
  }
  if (report.labelsCreated.length > 0) {
    lines.push('', `Labels created: ${report.labelsCreated.join('; ')}.`)
  }
  for (const e of report.repoErrors) lines.push('', `**${e.repo} could not be read:** ${e.error}`)
  if (report.agentError) lines.push('', `**Agent status unavailable:** ${report.agentError}`)
  if (report.points) {
    const p = report.points
    lines.push(
      '',
      `GitHub GraphQL points: ${p.spent} spent this tick${p.remaining !== null ? `; ${p.remaining}${p.limit !== null ? ` of ${p.limit}` : ''} left` : ''}${p.resetAt ? ` (resets ${p.resetAt})` : ''}.`
    )
  }
  if (report.budget) lines.push('', `**Points budget:** ${report.budget}`)
  if (report.writesStopped) lines.push('', `**Writes stopped:** ${report.writesStopped}`)
  for (const u of report.undeliverable) {
    lines.push(
      '',
      `**Undeliverable ${u.kind} notification** for ${u.repo}#${u.issue}: ${u.error ?? 'unknown error'}`
    )
  }
  for (const w of report.warnings) lines.push('', `> ${w}`)
  if (report.plan.length > 0) {
    lines.push('', '**Dry run: would have done**', '', ...report.plan.map((p) => `- ${p}`))
  }
  return fitSummary(lines.join('\n'))
}

/** Cut a summary that would still pass GitHub's limit (very long notes), saying so. */
function fitSummary(text: string): string {
  if (Buffer.byteLength(text, 'utf8') <= SUMMARY_BYTES) return text
  const note = '\n\n…(cut to stay under GitHub’s 1 MiB job-summary limit)'
  let cut = text.slice(0, SUMMARY_BYTES - 1000)
  while (Buffer.byteLength(cut + note, 'utf8') > SUMMARY_BYTES) cut = cut.slice(0, -1000)
  return cut + note
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s+/g, ' ')
}
