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
    }
  | { __typename: 'StatusContext'; context: string; state: string; targetUrl?: string | null }

export interface CheckSuiteFact {
  status: string
  conclusion: string | null
  workflowRun?: { url?: string | null } | null
}

export interface CommitChecks {
  contexts: readonly RollupContext[]
  checkSuites: readonly CheckSuiteFact[]
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

/** The CI status of a commit, and a link to the check that decided it. */
export function ciStatus(checks: CommitChecks, ignoreChecks: readonly string[] = []): CIReport {
  const ignored = new Set(ignoreChecks.map((n) => n.toLowerCase()))
  const verdicts: { verdict: Verdict; url: string | null }[] = []
  for (const c of checks.contexts) {
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
  if (verdicts.length === 0) return { status: 'missing', url: null }
  for (const verdict of PRECEDENCE) {
    const hit = verdicts.find((v) => v.verdict === verdict)
    if (hit) return { status: verdict satisfies CIStatus, url: hit.url }
  }
  return { status: 'missing', url: null }
}
