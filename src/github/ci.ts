/**
 * The CI status of one commit, from what GitHub reports for it: check runs
 * and commit statuses (the status check rollup's contexts) and check suites
 * (which carry a workflow run's `action_required`).
 *
 * The rules, in order of precedence:
 * 1. `blocked` — a check suite or check run waits for approval
 *    (`action_required`): nothing will happen until a human approves, so it
 *    wins over everything else, even a red check elsewhere.
 * 2. `red` — any failure, error, cancellation, time-out or startup failure:
 *    a fix-forward can start while other checks still run.
 * 3. `pending` — anything queued, in progress, waiting or expected.
 * 4. `green` — at least one counted check, all completed as success, neutral
 *    or skipped.
 * 5. `missing` — nothing counted has reported. Never green.
 *
 * Checks named in `ignore-checks` (case-insensitive) don't count. Suites are
 * only consulted for approval: their other states mirror their check runs.
 *
 * Like branch protection, only the newest run of each check name (per app)
 * and the newest state of each status context count: a check that failed and
 * then passed on a re-run is green, a pass followed by a failure is red.
 * Newest is the latest `startedAt`, then the highest `databaseId`, then the
 * later entry of the rollup.
 *
 * A verdict is only as good as the list it is read from: the adapter pages
 * the rollup to the end, and when it could not (`complete: false`) a commit
 * is never green — pending instead, and the next tick reads it again.
 */
import type { CIStatus } from '../core/types.js'
import type { CIReport } from '../loop/ports.js'

/** One entry of a commit's status check rollup, as GraphQL returns it. */
export type RollupContext =
  | {
      __typename: 'CheckRun'
      name: string
      status: string
      conclusion: string | null
      detailsUrl?: string | null
      databaseId?: number | null
      startedAt?: string | null
      checkSuite?: { app?: { databaseId?: number | null } | null } | null
    }
  | {
      __typename: 'StatusContext'
      context: string
      state: string
      targetUrl?: string | null
      createdAt?: string | null
    }

export interface CheckSuiteFact {
  status: string
  conclusion: string | null
  workflowRun?: { url?: string | null } | null
}

export interface CommitChecks {
  contexts: readonly RollupContext[]
  checkSuites: readonly CheckSuiteFact[]
  /** Every rollup entry was read (default true). An incomplete list is never green. */
  complete?: boolean
}

type Verdict = 'blocked' | 'red' | 'pending' | 'green'

const CHECK_RUN_CONCLUSION: Readonly<Record<string, Verdict>> = {
  SUCCESS: 'green',
  NEUTRAL: 'green',
  SKIPPED: 'green',
  FAILURE: 'red',
  CANCELLED: 'red',
  TIMED_OUT: 'red',
  STARTUP_FAILURE: 'red',
  ACTION_REQUIRED: 'blocked',
  // A stale check was superseded and will not finish: treat as still pending.
  STALE: 'pending'
}

const STATUS_STATE: Readonly<Record<string, Verdict>> = {
  SUCCESS: 'green',
  FAILURE: 'red',
  ERROR: 'red',
  PENDING: 'pending',
  EXPECTED: 'pending'
}

const PRECEDENCE: readonly Verdict[] = ['blocked', 'red', 'pending', 'green']

function checkRunVerdict(status: string, conclusion: string | null): Verdict {
  if (status.toUpperCase() !== 'COMPLETED') return 'pending'
  // A completed check with a conclusion we don't know is not a pass.
  return CHECK_RUN_CONCLUSION[(conclusion ?? '').toUpperCase()] ?? 'pending'
}

const time = (at: string | null | undefined): number => (at ? Date.parse(at) || 0 : 0)

/**
 * The newest entry of each check (name per app) and each status context, in
 * rollup order: what branch protection judges.
 */
export function newestChecks(contexts: readonly RollupContext[]): RollupContext[] {
  const newest = new Map<string, { context: RollupContext; index: number }>()
  const keyOf = (c: RollupContext) =>
    c.__typename === 'CheckRun'
      ? `check:${c.checkSuite?.app?.databaseId ?? ''}:${c.name}`
      : `status:${c.context}`
  const order = (c: RollupContext, index: number): [number, number, number] =>
    c.__typename === 'CheckRun'
      ? [time(c.startedAt), c.databaseId ?? 0, index]
      : [time(c.createdAt), 0, index]
  contexts.forEach((context, index) => {
    const key = keyOf(context)
    const seen = newest.get(key)
    if (!seen) {
      newest.set(key, { context, index })
      return
    }
    const a = order(context, index)
    const b = order(seen.context, seen.index)
    const newer = a[0] !== b[0] ? a[0] > b[0] : a[1] !== b[1] ? a[1] > b[1] : a[2] > b[2]
    if (newer) newest.set(key, { context, index: seen.index })
  })
  return [...newest.values()].sort((x, y) => x.index - y.index).map((v) => v.context)
}

/** The CI status of a commit, and a link to the check that decided it. */
export function ciStatus(checks: CommitChecks, ignoreChecks: readonly string[] = []): CIReport {
  const ignored = new Set(ignoreChecks.map((n) => n.toLowerCase()))
  const verdicts: { verdict: Verdict; url: string | null }[] = []
  for (const c of newestChecks(checks.contexts)) {
    if (c.__typename === 'CheckRun') {
      if (ignored.has(c.name.toLowerCase())) continue
      verdicts.push({ verdict: checkRunVerdict(c.status, c.conclusion), url: c.detailsUrl ?? null })
    } else {
      if (ignored.has(c.context.toLowerCase())) continue
      verdicts.push({
        verdict: STATUS_STATE[c.state.toUpperCase()] ?? 'pending',
        url: c.targetUrl ?? null
      })
    }
  }
  for (const suite of checks.checkSuites) {
    if ((suite.conclusion ?? '').toUpperCase() === 'ACTION_REQUIRED') {
      verdicts.push({ verdict: 'blocked', url: suite.workflowRun?.url ?? null })
    }
  }
  if (verdicts.length === 0) {
    // Entries we could not read may be checks: not "missing", just not known yet.
    return checks.complete === false
      ? { status: 'pending', url: null }
      : { status: 'missing', url: null }
  }
  for (const verdict of PRECEDENCE) {
    const hit = verdicts.find((v) => v.verdict === verdict)
    if (!hit) continue
    if (verdict === 'green' && checks.complete === false) return { status: 'pending', url: null }
    return { status: verdict satisfies CIStatus, url: hit.url }
  }
  return { status: 'missing', url: null }
}
