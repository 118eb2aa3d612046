import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { decide, explain, RULES } from '../../src/core/state-machine.js'
import {
  ACTIONS,
  CI_STATUSES,
  DOORBELL_FOR_ACTION,
  isTerminal,
  THREAD_STATUSES,
  type Action,
  type Policy,
  type Reason,
  type RunState
} from '../../src/core/types.js'

const policy: Policy = {
  maxFixForwardAttempts: 3,
  maxRuntimeSeconds: 6 * 3600,
  prepushTimeoutSeconds: 2 * 3600,
  ciStartTimeoutSeconds: 20 * 60,
  idleGraceSeconds: 10 * 60
}

const base: RunState = {
  threadStatus: 'running',
  ciStatus: null,
  pushed: false,
  fixForwardAttempts: 0,
  elapsedSeconds: 60,
  ciWaitSeconds: null,
  idleSeconds: null
}

const pushed = (ciStatus: RunState['ciStatus'], extra: Partial<RunState> = {}): RunState => ({
  ...base,
  pushed: true,
  ciStatus,
  ciWaitSeconds: 30,
  ...extra
})

type Row = [name: string, state: RunState, action: Action, reason: Reason, row: number]

const rows: Row[] = [
  // 1: runtime deadline, before anything else
  [
    'runtime hit, nothing pushed',
    { ...base, elapsedSeconds: policy.maxRuntimeSeconds },
    'ESCALATE_PREPUSH',
    'runtime-exceeded',
    1
  ],
  [
    'runtime hit, pushed',
    pushed('pending', { elapsedSeconds: policy.maxRuntimeSeconds }),
    'FREEZE_ESCALATE',
    'runtime-exceeded',
    1
  ],
  [
    'runtime hit beats green',
    pushed('green', { elapsedSeconds: policy.maxRuntimeSeconds + 1 }),
    'FREEZE_ESCALATE',
    'runtime-exceeded',
    1
  ],
  [
    'runtime hit beats unknown status',
    { ...base, threadStatus: null, elapsedSeconds: policy.maxRuntimeSeconds },
    'ESCALATE_PREPUSH',
    'runtime-exceeded',
    1
  ],
  [
    'one second before runtime',
    { ...base, elapsedSeconds: policy.maxRuntimeSeconds - 1, threadStatus: null },
    'WAIT',
    'no-status',
    2
  ],
  // 2: unknown status waits
  [
    'unknown status, pushed and green',
    pushed('green', { threadStatus: null }),
    'WAIT',
    'no-status',
    2
  ],
  ['unknown status, CI red', pushed('red', { threadStatus: null }), 'WAIT', 'no-status', 2],
  // 3
  ['green', pushed('green'), 'CLOSE_SUCCESS', 'ci-green', 3],
  [
    'green, thread errored',
    pushed('green', { threadStatus: 'error' }),
    'CLOSE_SUCCESS',
    'ci-green',
    3
  ],
  // 4
  ['blocked', pushed('blocked'), 'FREEZE_ESCALATE', 'ci-needs-approval', 4],
  // 5
  [
    'red, agent running',
    pushed('red', { fixForwardAttempts: 3 }),
    'WAIT',
    'agent-still-working',
    5
  ],
  // 6
  ['red, idle, budget left', pushed('red', { threadStatus: 'idle' }), 'FIX_FORWARD', 'ci-red', 6],
  [
    'red, error, last attempt left',
    pushed('red', { threadStatus: 'error', fixForwardAttempts: 2 }),
    'FIX_FORWARD',
    'ci-red',
    6
  ],
  // 7
  [
    'red, idle, budget spent',
    pushed('red', { threadStatus: 'idle', fixForwardAttempts: 3 }),
    'FREEZE_ESCALATE',
    'fix-forward-budget-spent',
    7
  ],
  [
    'red, error, over budget',
    pushed('red', { threadStatus: 'error', fixForwardAttempts: 9 }),
    'FREEZE_ESCALATE',
    'fix-forward-budget-spent',
    7
  ],
  // 8
  [
    'missing at the deadline',
    pushed('missing', { ciWaitSeconds: policy.ciStartTimeoutSeconds }),
    'FREEZE_ESCALATE',
    'ci-never-started',
    8
  ],
  [
    'null CI at the deadline',
    pushed(null, { ciWaitSeconds: policy.ciStartTimeoutSeconds + 5 }),
    'FREEZE_ESCALATE',
    'ci-never-started',
    8
  ],
  // 9
  [
    'missing one second before deadline',
    pushed('missing', { ciWaitSeconds: policy.ciStartTimeoutSeconds - 1 }),
    'WAIT',
    'ci-pending',
    9
  ],
  [
    'missing, wait not timed yet',
    pushed('missing', { ciWaitSeconds: null }),
    'WAIT',
    'ci-pending',
    9
  ],
  [
    'pending long after the CI-start deadline',
    pushed('pending', { ciWaitSeconds: 10 * policy.ciStartTimeoutSeconds }),
    'WAIT',
    'ci-pending',
    9
  ],
  [
    'pending, agent errored after push',
    pushed('pending', { threadStatus: 'error' }),
    'WAIT',
    'ci-pending',
    9
  ],
  // 10
  ['error before push', { ...base, threadStatus: 'error' }, 'ESCALATE_PREPUSH', 'agent-error', 10],
  // 11
  [
    'idle at the grace',
    { ...base, threadStatus: 'idle', idleSeconds: policy.idleGraceSeconds },
    'ESCALATE_PREPUSH',
    'agent-idle-without-push',
    11
  ],
  [
    'idle within the grace',
    { ...base, threadStatus: 'idle', idleSeconds: policy.idleGraceSeconds - 1 },
    'WAIT',
    'agent-working',
    13
  ],
  [
    'idle, not timed yet',
    { ...base, threadStatus: 'idle', idleSeconds: null },
    'WAIT',
    'agent-working',
    13
  ],
  // 12
  [
    'running at prepush timeout',
    { ...base, elapsedSeconds: policy.prepushTimeoutSeconds },
    'ESCALATE_PREPUSH',
    'agent-stalled',
    12
  ],
  [
    'running just before prepush timeout',
    { ...base, elapsedSeconds: policy.prepushTimeoutSeconds - 1 },
    'WAIT',
    'agent-working',
    13
  ],
  [
    'idle past prepush timeout but within grace',
    {
      ...base,
      threadStatus: 'idle',
      idleSeconds: 1,
      elapsedSeconds: policy.prepushTimeoutSeconds + 1
    },
    'WAIT',
    'agent-working',
    13
  ],
  // 13
  ['fresh run', base, 'WAIT', 'agent-working', 13]
]

describe('decide: the decision table', () => {
  it.each(rows)('%s', (_name, state, action, reason, row) => {
    expect(decide(state, policy)).toEqual({ action, reason })
    expect(explain(state, policy).row).toBe(row)
  })

  it('covers every row of the table with at least one case', () => {
    const covered = new Set(rows.map((r) => r[4]))
    expect([...covered].sort((a, b) => a - b)).toEqual(RULES.map((r) => r.row))
  })

  it('with a zero fix-forward budget, red freezes at once', () => {
    const zero = { ...policy, maxFixForwardAttempts: 0 }
    expect(decide(pushed('red', { threadStatus: 'idle' }), zero)).toEqual({
      action: 'FREEZE_ESCALATE',
      reason: 'fix-forward-budget-spent'
    })
  })
})

const seconds = fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.constant(0))
const stateArb: fc.Arbitrary<RunState> = fc.record({
  threadStatus: fc.constantFrom(...THREAD_STATUSES, null),
  ciStatus: fc.constantFrom(...CI_STATUSES, null),
  pushed: fc.boolean(),
  fixForwardAttempts: fc.integer({ min: 0, max: 10 }),
  elapsedSeconds: seconds,
  ciWaitSeconds: fc.option(seconds, { nil: null }),
  idleSeconds: fc.option(seconds, { nil: null })
})
const policyArb: fc.Arbitrary<Policy> = fc.record({
  maxFixForwardAttempts: fc.integer({ min: 0, max: 10 }),
  maxRuntimeSeconds: fc.integer({ min: 1, max: 100_000 }),
  prepushTimeoutSeconds: fc.integer({ min: 1, max: 100_000 }),
  ciStartTimeoutSeconds: fc.integer({ min: 1, max: 100_000 }),
  idleGraceSeconds: fc.integer({ min: 1, max: 100_000 })
})
const runs = { numRuns: 2000 }
const ESCALATIONS: Action[] = ['ESCALATE_PREPUSH', 'FREEZE_ESCALATE']

describe('decide: properties', () => {
  it('never closes unless pushed, green and the status is known', () => {
    fc.assert(
      fc.property(stateArb, policyArb, (s, p) => {
        if (decide(s, p).action !== 'CLOSE_SUCCESS') return true
        return s.pushed && s.ciStatus === 'green' && s.threadStatus !== null
      }),
      runs
    )
  })

  it('never fixes forward unless pushed, red, not running, known, and budget left', () => {
    fc.assert(
      fc.property(stateArb, policyArb, (s, p) => {
        if (decide(s, p).action !== 'FIX_FORWARD') return true
        return (
          s.pushed &&
          s.ciStatus === 'red' &&
          s.threadStatus !== null &&
          s.threadStatus !== 'running' &&
          s.fixForwardAttempts < p.maxFixForwardAttempts
        )
      }),
      runs
    )
  })

  it('an unknown status before the runtime deadline always waits', () => {
    fc.assert(
      fc.property(stateArb, policyArb, (s, p) => {
        fc.pre(s.elapsedSeconds < p.maxRuntimeSeconds)
        return decide({ ...s, threadStatus: null }, p).action === 'WAIT'
      }),
      runs
    )
  })

  it('is total and deterministic', () => {
    fc.assert(
      fc.property(stateArb, policyArb, (s, p) => {
        const first = decide(s, p)
        const second = decide(structuredClone(s), structuredClone(p))
        expect(second).toEqual(first)
        const matching = RULES.filter((r) => r.reason === first.reason)
        expect(matching.length).toBeGreaterThan(0)
      }),
      runs
    )
  })

  it('is total even on nonsense numbers', () => {
    fc.assert(
      fc.property(stateArb, policyArb, fc.double(), (s, p, weird) => {
        const d = decide({ ...s, elapsedSeconds: weird, ciWaitSeconds: weird }, p)
        expect(RULES.some((r) => r.reason === d.reason)).toBe(true)
      }),
      runs
    )
  })

  it('growing elapsed time never turns an escalation back into WAIT', () => {
    fc.assert(
      fc.property(stateArb, policyArb, fc.integer({ min: 1, max: 200_000 }), (s, p, more) => {
        fc.pre(ESCALATIONS.includes(decide(s, p).action))
        const later = decide({ ...s, elapsedSeconds: s.elapsedSeconds + more }, p)
        return later.action !== 'WAIT'
      }),
      runs
    )
  })

  it('past the runtime deadline the run always ends, with the right kind', () => {
    fc.assert(
      fc.property(stateArb, policyArb, (s, p) => {
        fc.pre(s.elapsedSeconds >= p.maxRuntimeSeconds)
        const d = decide(s, p)
        return (
          d.reason === 'runtime-exceeded' &&
          d.action === (s.pushed ? 'FREEZE_ESCALATE' : 'ESCALATE_PREPUSH')
        )
      }),
      runs
    )
  })
})

describe('isTerminal', () => {
  it('is true exactly for the actions that ring a doorbell', () => {
    expect(ACTIONS.filter(isTerminal)).toEqual([
      'CLOSE_SUCCESS',
      'ESCALATE_PREPUSH',
      'FREEZE_ESCALATE'
    ])
    for (const action of ACTIONS)
      expect(isTerminal(action)).toBe(DOORBELL_FOR_ACTION[action] !== null)
  })
})
