/**
 * The visible part of a run's status comment: where the run stands, why, and
 * what happens next, for a maintainer reading the issue.
 *
 * Deterministic: equal facts render byte-identical text. That is what lets
 * an unchanged `WAIT` write nothing, so nothing in a non-terminal checklist
 * may change by itself from tick to tick (no "elapsed 12 min"): it shows the
 * claim time and the deadline instead, and elapsed time only once the run
 * has ended.
 */
import type { HistoryEntry } from './bookkeeping.js'
import type { AnyReason, CIStatus, DoorbellKind, Phase } from './types.js'

/** Each reason in plain words, for the checklist, the summary and docs/how-runs-end.md. */
export const REASON_TEXT: Readonly<Record<AnyReason, string>> = {
  'runtime-exceeded': 'The run reached its `max-runtime` without landing.',
  'no-status': "The agent's status can't be read right now; waiting rather than guessing.",
  'ci-green': 'CI is green on the pushed commit.',
  'ci-needs-approval':
    'A workflow run for the pushed commit waits for approval (`action_required`); only a human can approve it.',
  'agent-still-working': 'CI is red, but the agent is still working; waiting for its next push.',
  'ci-red': 'CI is red on the pushed commit; the agent was asked to fix it forward.',
  'fix-forward-budget-spent': 'CI is still red after every fix-forward attempt allowed.',
  'ci-never-started':
    'No CI check reported for the pushed commit within `ci-start-timeout` (pushes made with `GITHUB_TOKEN` trigger no workflows).',
  'ci-pending': 'CI is running on the pushed commit.',
  'agent-error': 'The agent stopped with an error before pushing anything.',
  'agent-idle-without-push': 'The agent went idle for longer than `idle-grace` without pushing.',
  'agent-stalled': 'The agent has worked past `prepush-timeout` without pushing.',
  'agent-working': 'The agent is working on the issue.',
  claimed: 'The loop claimed the issue and is starting the agent.',
  'issue-closed-by-human': 'Someone closed the issue; the loop stopped driving this run.',
  'in-progress-label-removed':
    'Someone removed the in-progress label; the loop stopped driving this run.',
  'human-label-added': 'Someone added the human label; the loop stopped driving this run.',
  'pull-request-by-someone-else':
    'A pull request by someone else closes this issue; the loop stopped driving this run.',
  'issue-transferred':
    'The issue was transferred to another repository; the loop stopped driving this run and its agent.',
  'record-missing':
    "The loop's status comment for this run is missing, so its bookkeeping can't be trusted.",
  'record-corrupt':
    "The loop's status comment for this run can't be read, so its bookkeeping can't be trusted.",
  'record-edited':
    "The loop's status comment was edited by someone else, so its bookkeeping can't be trusted.",
  'record-unverified':
    "The loop's status comment holds a record the loop can't prove it wrote (see the detail), so its bookkeeping can't be trusted.",
  'emergency-stop': 'The loop was switched to `mode: stop` (emergency stop).',
  'dispatch-failed': 'The agent could not be started: every dispatch attempt failed.',
  'work-out-of-view':
    "More pull requests close this issue than afk-loop reads, so the run's own may be out of view; waiting rather than concluding nothing was pushed (`max-runtime` still applies)."
}

const HEADLINE: Readonly<Record<Phase, string>> = {
  claimed: 'claimed, starting the agent',
  working: 'agent working',
  pushed: 'pushed, waiting for CI',
  deployed: 'CI green',
  done: 'landed',
  'handed-back': 'handed back to a human'
}

const CI_TEXT: Readonly<Record<CIStatus, string>> = {
  green: 'green',
  red: 'red',
  pending: 'running',
  missing: 'not started',
  blocked: 'waiting for approval'
}

/** Everything the checklist shows. Equal facts ⇒ identical text. */
export interface ChecklistFacts {
  repo: string
  issue: number
  phase: Phase
  /** The latest verdict and why. */
  reason: AnyReason
  /** Extra words for the reason (e.g. which PR took over), optional. */
  detail?: string
  attempts: number
  maxAttempts: number
  claimedAt: string
  /** When the run will be handed back at the latest (claim + max-runtime). */
  deadlineAt: string
  /** Only for ended runs: a running clock would rewrite the comment every tick. */
  elapsedSeconds?: number
  agent: { id: string; url: string | null } | null
  commit: { sha: string; url: string | null } | null
  ciStatus: CIStatus | null
  /** e.g. a pull request URL. */
  deliveryUrl?: string | null
  history: readonly HistoryEntry[]
}

const STEPS: readonly { phase: Phase; label: (f: ChecklistFacts) => string }[] = [
  { phase: 'claimed', label: (f) => `Claimed ${f.claimedAt}` },
  { phase: 'working', label: (f) => `Agent working${f.agent ? ` — ${agentLink(f.agent)}` : ''}` },
  {
    phase: 'pushed',
    label: (f) =>
      f.commit
        ? `Pushed ${commitLink(f.commit)}${f.deliveryUrl ? ` (${f.deliveryUrl})` : ''}, CI ${f.ciStatus ? CI_TEXT[f.ciStatus] : 'unknown'}`
        : 'Pushed'
  },
  { phase: 'deployed', label: () => 'CI green' },
  { phase: 'done', label: () => 'Done' }
]

const ORDER: Readonly<Record<Phase, number>> = {
  claimed: 0,
  working: 1,
  pushed: 2,
  deployed: 3,
  done: 4,
  'handed-back': -1
}

/** Render the visible part of the status comment. */
export function render(facts: ChecklistFacts): string {
  const lines: string[] = []
  lines.push(`### afk-loop: ${HEADLINE[facts.phase]}`, '')

  const reached = facts.phase === 'handed-back' ? lastReached(facts) : ORDER[facts.phase]
  for (const [index, step] of STEPS.entries()) {
    lines.push(`- [${index <= reached ? 'x' : ' '}] ${step.label(facts)}`)
  }
  lines.push('')

  const why = REASON_TEXT[facts.reason] + (facts.detail ? ` ${facts.detail}` : '')
  lines.push(`- **Now:** ${why}`)
  lines.push(`- **Fix-forward attempts:** ${facts.attempts}/${facts.maxAttempts}`)
  if (facts.elapsedSeconds !== undefined) {
    lines.push(`- **Elapsed:** ${formatDuration(facts.elapsedSeconds)}`)
  } else {
    lines.push(`- **Hands back by:** ${facts.deadlineAt} at the latest`)
  }
  if (facts.phase === 'handed-back') {
    lines.push('', nextStepForHuman(facts))
  }

  if (facts.history.length > 0) {
    lines.push('', '<details><summary>History</summary>', '', '| time | action | reason |')
    lines.push('|---|---|---|')
    for (const h of facts.history) {
      lines.push(`| ${h.at} | ${h.action} | ${h.reason}${h.detail ? `: ${cell(h.detail)}` : ''} |`)
    }
    lines.push('', '</details>')
  }
  lines.push('', `<sub>This comment is the run's bookkeeping: please don't edit it.</sub>`)
  return lines.join('\n')
}

/** How far a handed-back run got, from the facts it had. */
function lastReached(facts: ChecklistFacts): number {
  if (facts.ciStatus === 'green') return ORDER.deployed
  if (facts.commit) return ORDER.pushed
  if (facts.agent) return ORDER.working
  return ORDER.claimed
}

function nextStepForHuman(facts: ChecklistFacts): string {
  const where = facts.commit ? `the pushed work (${commitLink(facts.commit)})` : 'the issue'
  return `**Next:** over to a human. Review ${where}; to give it back to the agent, remove the human label and add the ready label again.`
}

function agentLink(agent: { id: string; url: string | null }): string {
  return agent.url ? `[${agent.id}](${agent.url})` : `\`${agent.id}\``
}

function commitLink(commit: { sha: string; url: string | null }): string {
  const short = commit.sha.slice(0, 7)
  return commit.url ? `[\`${short}\`](${commit.url})` : `\`${short}\``
}

/** Table cells can't hold pipes or newlines. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 200)
}

const NOTICE_WORDS: Readonly<Record<DoorbellKind, string>> = {
  done: 'landed',
  'needs-human': 'was handed back and needs a human',
  frozen: 'was frozen and handed back'
}

/** The hidden mark a notice carries, so a retry finds it instead of posting twice. */
export function noticeMarker(key: string): string {
  return `<!-- afk-loop:notice ${key} -->`
}

/**
 * The `notify-mention` notice: a short new comment at a run's end, because
 * GitHub notifies people mentioned in a new comment (an edit may not). The
 * status comment stays the place of record; this only points to it.
 */
export function noticeBody(n: {
  mention: string
  kind: DoorbellKind
  reason: AnyReason
  key: string
  statusUrl: string | null
}): string {
  const where = n.statusUrl ? `[the status comment](${n.statusUrl})` : 'the status comment'
  return [
    `${n.mention} afk-loop: this run ${NOTICE_WORDS[n.kind]}. ${REASON_TEXT[n.reason]} Details in ${where}.`,
    '',
    noticeMarker(n.key)
  ].join('\n')
}

/** `3725` → `1h 2m`; `59` → `59s`. Whole units, largest two. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds))
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1]
  ]
  const parts: string[] = []
  let rest = s
  for (const [name, size] of units) {
    const n = Math.floor(rest / size)
    rest -= n * size
    if (n > 0 || parts.length > 0) parts.push(`${n}${name}`)
    if (parts.length === 2) break
  }
  const shown = parts.filter((p, i) => i === 0 || !p.startsWith('0'))
  return shown.length > 0 ? shown.join(' ') : '0s'
}
