/**
 * Triage: before a tracked issue's run is driven, how is it to be treated?
 * An ordered rule table, like `decide`'s: the first rule that holds wins, and
 * the last one always holds. The watcher gathers the facts (is the status
 * comment there, untouched, readable, trusted; did the run end; did a human
 * take over) and then only does the I/O the route implies.
 *
 * Two promises shape it:
 * - Bookkeeping that can't be trusted is never guessed at: a run still in
 *   progress is handed back with the reason; one that isn't is left alone.
 * - A human's act comes before the loop's own plans (the emergency stop
 *   included): a takeover releases the run, ringing nothing.
 *
 * Pure: no I/O, no clock.
 */
import type { AnyReason } from './types.js'

/** What the watcher found, in the order triage looks at it. */
export interface TriageFacts {
  /** The issue carries the in-progress label (case-insensitive). */
  inProgress: boolean
  /** The loop's status comment: missing, edited by someone else, or there as written. */
  comment: 'missing' | 'edited' | 'present'
  /** The record names another allowlisted repository the issue moved from. */
  transfer: 'none' | 'unconfirmed' | 'confirmed'
  /**
   * The record: ok; `unverified` (its MAC doesn't verify, or it doesn't fit
   * its issue); `corrupt` (unreadable, or another issue's).
   */
  record: 'ok' | 'unverified' | 'corrupt'
  /** The record has a terminal mark. */
  ended: boolean
  /** Nothing dispatched yet and the labels not swapped: a claim that died midway. */
  unfinishedClaim: boolean
  /** A human took over (core/evidence.ts). */
  takeover: boolean
  /** `mode: stop`. */
  stopping: boolean
}

/** What the watcher does with the run. */
export const ROUTES = [
  'skip',
  'hand-back-untrusted',
  'release-transferred',
  'finish',
  'release',
  'emergency-stop',
  'drive'
] as const
export type Route = (typeof ROUTES)[number]

export interface TriageRule {
  /** The row's number, for tests and explanations. */
  row: number
  when: (f: TriageFacts) => boolean
  route: Route
  /** The hand-back's reason (route `hand-back-untrusted`). */
  reason?: AnyReason
  /** Why a skipped issue is skipped, for the job summary. */
  note?: string
}

/** The triage table. Order matters: the first matching row wins. */
export const TRIAGE_RULES: readonly TriageRule[] = [
  {
    row: 1,
    when: (f) => f.comment === 'missing' && !f.inProgress,
    route: 'skip',
    note: 'no status comment of the loop'
  },
  {
    row: 2,
    when: (f) => f.comment === 'missing',
    route: 'hand-back-untrusted',
    reason: 'record-missing'
  },
  {
    row: 3,
    when: (f) => f.comment === 'edited' && !f.inProgress,
    route: 'skip',
    note: 'status comment edited by someone else; not in progress'
  },
  {
    row: 4,
    when: (f) => f.comment === 'edited',
    route: 'hand-back-untrusted',
    reason: 'record-edited'
  },
  {
    row: 5,
    when: (f) => f.transfer === 'unconfirmed',
    route: 'skip',
    note: 'its record names another repository that could not be read this tick'
  },
  { row: 6, when: (f) => f.transfer === 'confirmed', route: 'release-transferred' },
  {
    row: 7,
    when: (f) => f.record === 'unverified' && !f.inProgress,
    route: 'skip',
    note: 'status comment not trusted'
  },
  {
    row: 8,
    when: (f) => f.record === 'unverified',
    route: 'hand-back-untrusted',
    reason: 'record-unverified'
  },
  {
    row: 9,
    when: (f) => f.record === 'corrupt' && !f.inProgress,
    route: 'skip',
    note: 'unreadable status comment; not in progress'
  },
  {
    row: 10,
    when: (f) => f.record === 'corrupt',
    route: 'hand-back-untrusted',
    reason: 'record-corrupt'
  },
  { row: 11, when: (f) => f.ended, route: 'finish' },
  {
    row: 12,
    when: (f) => f.unfinishedClaim && !f.inProgress,
    route: 'skip',
    note: 'claim not finished; the poller resumes it'
  },
  { row: 13, when: (f) => f.takeover, route: 'release' },
  { row: 14, when: (f) => f.stopping, route: 'emergency-stop' },
  { row: 15, when: () => true, route: 'drive' }
]

/** The route for a run, and the row that chose it. Total: row 15 matches anything. */
export function triage(facts: TriageFacts): TriageRule {
  for (const rule of TRIAGE_RULES) if (rule.when(facts)) return rule
  // Unreachable: the last rule always matches.
  return TRIAGE_RULES[TRIAGE_RULES.length - 1] as TriageRule
}
