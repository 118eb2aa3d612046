/**
 * The loop's vocabulary, kept from the Python pilot on purpose.
 *
 * A *run* is one issue being worked by the agent, from claim to a terminal
 * action. Each tick the loop assembles a {@link RunState} from what GitHub and
 * the agent say right now, asks the pure state machine for a {@link Decision},
 * and performs exactly the I/O that decision implies.
 *
 * This file is pure data: no I/O, no clock, nothing from `@actions/*`.
 */

/** What the agent's thread is doing. `null` in a RunState means "unknown". */
export const THREAD_STATUSES = ['running', 'idle', 'error'] as const
export type ThreadStatus = (typeof THREAD_STATUSES)[number]

/**
 * CI of the latest pushed commit. `missing`: nothing has reported for the
 * commit yet. `blocked`: a run waits for a human's approval (action_required).
 */
export const CI_STATUSES = ['green', 'red', 'pending', 'missing', 'blocked'] as const
export type CIStatus = (typeof CI_STATUSES)[number]

/** The state machine's verdicts. */
export const ACTIONS = [
  'WAIT',
  'FIX_FORWARD',
  'CLOSE_SUCCESS',
  'ESCALATE_PREPUSH',
  'FREEZE_ESCALATE'
] as const
export type Action = (typeof ACTIONS)[number]

/** Why `decide` chose its action: one reason per row of its table. */
export const DECISION_REASONS = [
  'runtime-exceeded',
  'no-status',
  'ci-green',
  'ci-needs-approval',
  'agent-still-working',
  'ci-red',
  'fix-forward-budget-spent',
  'ci-never-started',
  'ci-pending',
  'agent-error',
  'agent-idle-without-push',
  'agent-stalled',
  'agent-working'
] as const
export type Reason = (typeof DECISION_REASONS)[number]

/**
 * Reasons the loop itself (not `decide`) ends or explains a run: a human took
 * over, the bookkeeping can't be trusted, or the emergency stop was pulled.
 */
export const LOOP_REASONS = [
  'claimed',
  'issue-closed-by-human',
  'in-progress-label-removed',
  'human-label-added',
  'pull-request-by-someone-else',
  'issue-transferred',
  'record-missing',
  'record-corrupt',
  'record-edited',
  'record-unverified',
  'emergency-stop',
  'dispatch-failed',
  'work-out-of-view'
] as const
export type LoopReason = (typeof LOOP_REASONS)[number]

export type AnyReason = Reason | LoopReason

/** Everything `decide` needs to know about one run, read fresh each tick. */
export interface RunState {
  /** null = no usable status (missing thread, unknown string). */
  threadStatus: ThreadStatus | null
  /** Of the latest pushed commit; null when nothing is pushed. */
  ciStatus: CIStatus | null
  pushed: boolean
  fixForwardAttempts: number
  /** Since the claim. */
  elapsedSeconds: number
  /** Since the current commit was first seen; null counts as 0. */
  ciWaitSeconds: number | null
  /** Since the thread was first seen idle; null counts as 0. */
  idleSeconds: number | null
}

/** The deadlines and budget `decide` enforces, all from the action's inputs. */
export interface Policy {
  maxFixForwardAttempts: number
  maxRuntimeSeconds: number
  prepushTimeoutSeconds: number
  ciStartTimeoutSeconds: number
  idleGraceSeconds: number
}

export interface Decision {
  action: Action
  reason: Reason
}

/** The doorbell rings only at a run's end, with one of these kinds. */
export const DOORBELL_KINDS = ['done', 'needs-human', 'frozen'] as const
export type DoorbellKind = (typeof DOORBELL_KINDS)[number]

/** Terminal actions and the doorbell each rings; non-terminal ones ring nothing. */
export const DOORBELL_FOR_ACTION: Readonly<Record<Action, DoorbellKind | null>> = {
  WAIT: null,
  FIX_FORWARD: null,
  CLOSE_SUCCESS: 'done',
  ESCALATE_PREPUSH: 'needs-human',
  FREEZE_ESCALATE: 'frozen'
}

/**
 * Every way a run can end: the state machine's terminal verdicts and the
 * loop's own (`HAND_BACK`: the loop gives up on the run; `RELEASE`: a human
 * took over).
 */
export const ENDINGS = [
  'CLOSE_SUCCESS',
  'ESCALATE_PREPUSH',
  'FREEZE_ESCALATE',
  'HAND_BACK',
  'RELEASE'
] as const
export type Ending = (typeof ENDINGS)[number]

/** What an ending does: read by the watcher, checked against docs/how-runs-end.md's table. */
export interface EndingRule {
  /** The doorbell it rings when work was pushed, and when nothing was. */
  doorbell: { pushed: DoorbellKind | null; notPushed: DoorbellKind | null }
  /** Adds the human label (the run is handed back). */
  handsBack: boolean
  /** With trunk delivery, the loop closes the issue (a pull request's merge closes it otherwise). */
  closesTrunkIssue: boolean
}

/**
 * How each ending ends a run. Pushed or not decides `frozen` versus
 * `needs-human` on every path that hands back: a human who gets `frozen`
 * knows there is pushed work to look at.
 */
export const ENDING_RULES: Readonly<Record<Ending, EndingRule>> = {
  CLOSE_SUCCESS: {
    doorbell: { pushed: 'done', notPushed: 'done' },
    handsBack: false,
    closesTrunkIssue: true
  },
  ESCALATE_PREPUSH: {
    doorbell: { pushed: 'frozen', notPushed: 'needs-human' },
    handsBack: true,
    closesTrunkIssue: false
  },
  FREEZE_ESCALATE: {
    doorbell: { pushed: 'frozen', notPushed: 'frozen' },
    handsBack: true,
    closesTrunkIssue: false
  },
  HAND_BACK: {
    doorbell: { pushed: 'frozen', notPushed: 'needs-human' },
    handsBack: true,
    closesTrunkIssue: false
  },
  RELEASE: {
    doorbell: { pushed: null, notPushed: null },
    handsBack: false,
    closesTrunkIssue: false
  }
}

/** The doorbell an ending rings. */
export function doorbellFor(ending: Ending, pushed: boolean): DoorbellKind | null {
  const rule = ENDING_RULES[ending].doorbell
  return pushed ? rule.pushed : rule.notPushed
}

/** Whether an action ends the run. */
export function isTerminal(action: Action): boolean {
  return DOORBELL_FOR_ACTION[action] !== null
}

/**
 * Where a run stands, for the checklist only (decoration; never an input to a
 * decision). `working` is the pilot's RED/GREEN; `deployed` = CI green.
 */
export const PHASES = ['claimed', 'working', 'pushed', 'deployed', 'done', 'handed-back'] as const
export type Phase = (typeof PHASES)[number]

/** How the agent delivers its work. */
export const DELIVERIES = ['pull-request', 'trunk'] as const
export type Delivery = (typeof DELIVERIES)[number]
