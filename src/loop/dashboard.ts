/**
 * The dashboard issue in the tick (`dashboard: true`): read before the runs
 * are driven (its checkboxes set the repository's mode), written after (with
 * the tick's rows), and only when its text changed.
 *
 * Costs: one query per readable repository (1 point: by the dashboard's
 * label, with the viewer's first open issues beside it for one opened
 * without the label, see src/github/dashboard.ts); only when the text
 * changed, a re-read of the body (1 point: a box ticked since the read is
 * never overwritten; the next tick reads it) and the write; a REST
 * permission read per editor, only when someone other than the loop edited
 * the body. The write also puts back a missing label and reopens a closed
 * dashboard, in the same mutation. Dry run: read, plan, write nothing.
 */
import type { AuthorAssociation, Mode, RepoRef } from '../config.js'
import {
  DASHBOARD_MARKER,
  dashboardMode,
  readDashboard,
  renderDashboard,
  withEndings,
  type DashboardRecord,
  type DashboardRun
} from '../core/dashboard.js'
import { dashboardChange, type Effects } from './effects.js'
import type { DashboardIssue, DashboardPort, RepoWorld } from './ports.js'
import type { RunRow } from './report.js'

export const DASHBOARD_TITLE = 'afk-loop dashboard'

/** One repository's dashboard as read this tick. */
export interface RepoDashboard {
  repo: RepoRef
  issue: DashboardIssue | null
  record: DashboardRecord
}

/** The actions that end a run (an ending the dashboard lists). */
const ENDINGS = ['CLOSE_SUCCESS', 'HAND_BACK', 'ESCALATE_PREPUSH', 'FREEZE_ESCALATE', 'RELEASE']
/** The actions of a run still in flight after the tick. */
const IN_FLIGHT = ['CLAIM', 'WAIT', 'FIX_FORWARD']

/** Read every readable repository's dashboard; a failure is a warning and leaves that repository as it was. */
export async function readDashboards(input: {
  port: DashboardPort
  repos: readonly RepoWorld[]
  viewer: string
  trusted: readonly AuthorAssociation[]
  secret: string | null
  now: Date
  warn(message: string): void
}): Promise<Map<string, RepoDashboard>> {
  const out = new Map<string, RepoDashboard>()
  for (const w of input.repos) {
    if (w.error !== null) continue
    try {
      const issue = await input.port.readDashboard(w.repo, input.viewer, DASHBOARD_MARKER)
      if (!issue) {
        out.set(w.repo.key, {
          repo: w.repo,
          issue: null,
          record: {
            v: 1,
            repo: w.repo.key,
            pause: null,
            handBack: null,
            endings: [],
            ignored: []
          }
        })
        continue
      }
      const editors: { login: string; association: AuthorAssociation }[] = []
      for (const login of issue.editorsSinceLoop) {
        editors.push({ login, association: await input.port.associationOf(w.repo, login) })
      }
      const verdict = readDashboard({
        repo: w.repo.key,
        body: issue.body,
        editors,
        trusted: input.trusted,
        secret: input.secret,
        now: input.now.toISOString()
      })
      for (const note of verdict.notes) input.warn(note)
      out.set(w.repo.key, { repo: w.repo, issue, record: verdict.record })
    } catch (error) {
      input.warn(
        `The dashboard of ${w.repo.fullName} could not be read: ${error instanceof Error ? error.message : String(error)}`
      )
    }
  }
  return out
}

/** The mode one repository runs in this tick. */
export function repoMode(
  mode: Mode,
  dashboards: ReadonlyMap<string, RepoDashboard>,
  repo: RepoRef
): Mode {
  return dashboardMode(mode, dashboards.get(repo.key)?.record ?? null)
}

/**
 * Create or bring up to date each dashboard whose text changed, or which lacks
 * its label or was closed; returns what was written (`owner/name: created`,
 * `updated`, `updated and labelled`, `reopened`, …).
 */
export async function writeDashboards(input: {
  port: DashboardPort
  effects: Effects
  dashboards: ReadonlyMap<string, RepoDashboard>
  rows: readonly RunRow[]
  maxRuntimeSeconds: number
  pointsSpent: number | null
  secret: string | null
  now: Date
  warn(message: string): void
}): Promise<string[]> {
  const written: string[] = []
  for (const d of input.dashboards.values()) {
    const mine = input.rows.filter((r) => r.repo === d.repo.fullName && r.error === null)
    const endings = mine
      .filter((r) => ENDINGS.includes(r.action))
      .map((r) => ({
        issue: r.issue,
        action: r.action,
        reason: r.reason,
        at: input.now.toISOString()
      }))
    const runs: DashboardRun[] = mine
      .filter((r) => IN_FLIGHT.includes(r.action))
      .map((r) => ({
        issue: r.issue,
        url: r.url,
        phase: r.phase,
        attempts: r.attempts,
        maxAttempts: r.maxAttempts,
        elapsedSeconds: r.elapsedSeconds,
        deadline: r.claimedAt
          ? new Date(Date.parse(r.claimedAt) + input.maxRuntimeSeconds * 1000).toISOString()
          : null
      }))
    const body = renderDashboard({
      repo: d.repo.fullName,
      record: withEndings(d.record, endings),
      runs,
      pointsSpent: input.pointsSpent,
      secret: input.secret
    })
    const newBody = d.issue?.body === body ? null : body
    // Unchanged, labelled and open: nothing to write (a quiet tick).
    if (d.issue && newBody === null && d.issue.labelled && !d.issue.closed) continue
    try {
      if (await input.effects.writeDashboard(d.repo, d.issue, DASHBOARD_TITLE, newBody)) {
        written.push(`${d.repo.fullName}: ${dashboardChange(d.issue, newBody, true)}`)
      }
    } catch (error) {
      input.warn(
        `The dashboard of ${d.repo.fullName} could not be written: ${error instanceof Error ? error.message : String(error)}`
      )
    }
  }
  return written
}
