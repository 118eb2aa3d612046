/**
 * The loop's policy: given what is true of a run right now, what to do next.
 *
 * `decide` is a pure function of a {@link RunState} and a {@link Policy}. It is
 * a table of rules read top to bottom; the first rule whose condition holds
 * wins. The table is the one in the project's design (and docs/how-runs-end.md):
 * keep them identical.
 *
 * Two promises shape it:
 * - We never close or escalate on a thread status we don't understand (rule 2):
 *   an unknown status waits for a tick that can read it.
 * - A run can't wait forever (rule 1): the runtime deadline is checked before
 *   anything else, even an unknown status. It is the one deliberate exception.
 *
 * CI is only consulted once something is pushed; before that, the thread's
 * own status and the pre-push deadlines decide.
 */
import type { Action, Decision, Policy, Reason, RunState } from './types.js'

interface Rule {
  /** The row's number in the documented table, for tests and explanations. */
  row: number
  when: (s: RunState, p: Policy) => boolean
  action: Action | ((s: RunState) => Action)
  reason: Reason
}

/** Null waits count as zero: a wait we have not started timing hasn't elapsed. */
const seconds = (value: number | null): number => value ?? 0

const ciRed = (s: RunState): boolean => s.pushed && s.ciStatus === 'red'

/** The decision table. Order matters: the first matching row wins. */
export const RULES: readonly Rule[] = [
  {
    row: 1,
    when: (s, p) => s.elapsedSeconds >= p.maxRuntimeSeconds,
    action: (s) => (s.pushed ? 'FREEZE_ESCALATE' : 'ESCALATE_PREPUSH'),
    reason: 'runtime-exceeded'
  },
  { row: 2, when: (s) => s.threadStatus === null, action: 'WAIT', reason: 'no-status' },
  {
    row: 3,
    when: (s) => s.pushed && s.ciStatus === 'green',
    action: 'CLOSE_SUCCESS',
    reason: 'ci-green'
  },
  {
    row: 4,
    when: (s) => s.pushed && s.ciStatus === 'blocked',
    action: 'FREEZE_ESCALATE',
    reason: 'ci-needs-approval'
  },
  {
    row: 5,
    when: (s) => ciRed(s) && s.threadStatus === 'running',
    action: 'WAIT',
    reason: 'agent-still-working'
  },
  {
    row: 6,
    when: (s, p) => ciRed(s) && s.fixForwardAttempts < p.maxFixForwardAttempts,
    action: 'FIX_FORWARD',
    reason: 'ci-red'
  },
  { row: 7, when: ciRed, action: 'FREEZE_ESCALATE', reason: 'fix-forward-budget-spent' },
  {
    row: 8,
    when: (s, p) =>
      s.pushed &&
      (s.ciStatus === 'missing' || s.ciStatus === null) &&
      seconds(s.ciWaitSeconds) >= p.ciStartTimeoutSeconds,
    action: 'FREEZE_ESCALATE',
    reason: 'ci-never-started'
  },
  { row: 9, when: (s) => s.pushed, action: 'WAIT', reason: 'ci-pending' },
  {
    row: 10,
    when: (s) => s.threadStatus === 'error',
    action: 'ESCALATE_PREPUSH',
    reason: 'agent-error'
  },
  {
    row: 11,
    when: (s, p) => s.threadStatus === 'idle' && seconds(s.idleSeconds) >= p.idleGraceSeconds,
    action: 'ESCALATE_PREPUSH',
    reason: 'agent-idle-without-push'
  },
  {
    row: 12,
    when: (s, p) => s.threadStatus === 'running' && s.elapsedSeconds >= p.prepushTimeoutSeconds,
    action: 'ESCALATE_PREPUSH',
    reason: 'agent-stalled'
  },
  { row: 13, when: () => true, action: 'WAIT', reason: 'agent-working' }
]

/**
 * Decide what to do with one run. Total and deterministic: every input gets
 * exactly one decision (row 13 matches anything the others don't).
 */
export function decide(state: RunState, policy: Policy): Decision {
  return explain(state, policy).decision
}

/** Like {@link decide}, and also says which row of the table matched. */
export function explain(state: RunState, policy: Policy): { row: number; decision: Decision } {
  for (const rule of RULES) {
    if (rule.when(state, policy)) {
      const action = typeof rule.action === 'function' ? rule.action(state) : rule.action
      return { row: rule.row, decision: { action, reason: rule.reason } }
    }
  }
  // Unreachable: the last rule always matches. Kept so the function is total
  // even if someone edits the table carelessly.
  return { row: 13, decision: { action: 'WAIT', reason: 'agent-working' } }
}
