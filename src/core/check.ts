/**
 * `mode: check`: what the facts a check tick gathered mean, as one pass /
 * fail / warn line each for the job summary. Pure: the probes (src/github/
 * probe.ts, the agent adapters' `check`) read, this decides.
 *
 * What is checked, per allowlisted repository unless said otherwise:
 * 1. the token reaches the repository;
 * 2. each permission the chosen features need: reads by what GitHub let the
 *    token read, writes by a request GitHub refuses either way (403 without
 *    the permission, 422 with it) so nothing is written;
 * 3. the loop's three labels exist, or the token may create them (the first
 *    `mode: on` tick does);
 * 4. with `dashboard: true`: the dashboard issue exists (with its URL) or the
 *    token may create it (`issues: write`), and its label exists or may be
 *    created with it; one found without its label or closed is said so
 *    (the next tick labels or reopens it);
 * 5. once: the identity the loop acts as, and trusts as the author of status
 *    comments — a warning when it is the shared `github-actions[bot]`;
 * 6. the agent backend: reachable and accepting the token, and able to
 *    start a run in each repository;
 * 7. once: the schedule's risk — GitHub disables scheduled workflows in a
 *    public repository after 60 days without activity;
 * 8. only when asked (`check-notify`): each notification channel accepts a
 *    delivery that says it is a test.
 * A check that can't be made is a `skip` line saying why, never a pass.
 */
import { formatDuration } from './checklist.js'

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip'

export interface CheckLine {
  status: CheckStatus
  /** What was checked, e.g. `acme/widgets: issues: write`. */
  subject: string
  /** What was found, and for a failure what to do. */
  detail: string
}

/** What the probes learned about one repository. */
export interface RepoFacts {
  repo: string
  /** Why the token can't read the repository at all, or null when it can. */
  unreachable: string | null
  /** The login the token acts as (GraphQL `viewer`). */
  viewer: string | null
  /** Reads GitHub refused, by the permission that would allow them. */
  refusedReads: { permission: string; error: string }[]
  labels: { name: string; exists: boolean }[]
  /** Write probes: allowed true/false, or null when the probe couldn't tell. */
  writes: { permission: string; allowed: boolean | null; detail: string }[]
  /** The dashboard issue, looked for only with `dashboard: true`. */
  dashboard?: DashboardFacts
}

/** What the dashboard's lookup found (the same lookup a tick makes), or why it couldn't look. */
export type DashboardFacts =
  | {
      label: { name: string; exists: boolean }
      issue: { number: number; url: string; labelled: boolean; closed: boolean } | null
    }
  | { error: string }

/** The repository the workflow runs in, for the schedule's 60-day risk. */
export interface ScheduleFacts {
  repo: string
  isPrivate: boolean
  /** When something was last pushed (GitHub's `pushed_at`). */
  pushedAt: string | null
}

/** What the agent backend said, reading only. */
export interface AgentCheck {
  /** `T3 Code server at …`, `agent workflow afk-agent.yml`. */
  backend: string
  /** The backend answered and accepted the credentials; else why not. */
  reach: { ok: boolean; detail: string }
  /** Per repository: can a run be started there? */
  repos: { repo: string; ok: boolean; detail: string }[]
}

export interface CheckInput {
  now: Date
  repos: RepoFacts[]
  /** The permissions the chosen features need to read with (`pull-requests: read`, …). */
  neededReads: string[]
  /** The backend's own check; `unchecked` when it has none (a skip line, never a pass). */
  agent: AgentCheck | { unchecked: string } | null
  /** Null when the workflow's repository is unknown (not run by Actions). */
  schedule: ScheduleFacts | { error: string } | null
  /** Test deliveries, when asked for (`check-notify`): per channel, null = accepted. */
  doorbells?: { channel: string; error: string | null }[]
}

/** GitHub disables scheduled workflows after this long without repository activity. */
export const SCHEDULE_INACTIVITY_DAYS = 60
/** Warn this long before that. */
const SCHEDULE_WARN_DAYS = 14
const DAY = 86_400_000

/** The shared identity every workflow's GITHUB_TOKEN acts as. */
export function isSharedActionsIdentity(login: string): boolean {
  return /^github-actions(\[bot\])?$/i.test(login)
}

/** Every line of the check, in a stable order. */
export function checkLines(input: CheckInput): CheckLine[] {
  const lines: CheckLine[] = []
  const line = (status: CheckStatus, subject: string, detail: string) =>
    lines.push({ status, subject, detail })

  for (const r of input.repos) {
    if (r.unreachable !== null) {
      line(
        'fail',
        `${r.repo}: reach`,
        `the token can't read it (${r.unreachable}). Check the name in \`repos\`; GITHUB_TOKEN reaches only the repository the workflow runs in — use a GitHub App token installed on ${r.repo} for others.`
      )
      continue
    }
    line('pass', `${r.repo}: reach`, 'the token reads the repository.')
    for (const permission of input.neededReads) {
      const refused = r.refusedReads.find((x) => x.permission === permission)
      if (refused) {
        line('fail', `${r.repo}: ${permission}`, `${refused.error} Grant \`${permission}\`.`)
      } else {
        line('pass', `${r.repo}: ${permission}`, 'GitHub answered the read.')
      }
    }
    for (const w of r.writes) {
      if (w.allowed === true) line('pass', `${r.repo}: ${w.permission}`, w.detail)
      else if (w.allowed === false)
        line('fail', `${r.repo}: ${w.permission}`, `${w.detail} Grant \`${w.permission}\`.`)
      else line('skip', `${r.repo}: ${w.permission}`, w.detail)
    }
    const missing = r.labels.filter((l) => !l.exists).map((l) => l.name)
    const canCreate = r.writes.find((w) => w.permission === 'issues: write')?.allowed === true
    if (missing.length === 0) {
      line('pass', `${r.repo}: labels`, `${r.labels.map((l) => `\`${l.name}\``).join(', ')} exist.`)
    } else if (canCreate) {
      line(
        'pass',
        `${r.repo}: labels`,
        `${missing.map((l) => `\`${l}\``).join(', ')} missing; the first \`mode: on\` tick creates ${missing.length === 1 ? 'it' : 'them'} (the token may).`
      )
    } else {
      line(
        'fail',
        `${r.repo}: labels`,
        `${missing.map((l) => `\`${l}\``).join(', ')} missing, and the token may not create labels: create ${missing.length === 1 ? 'it' : 'them'} by hand, or grant \`issues: write\`.`
      )
    }
    if (r.dashboard) dashboardLines(r, r.dashboard, line)
  }

  const viewer = input.repos.find((r) => r.viewer)?.viewer ?? null
  if (viewer === null) {
    line('skip', 'identity', 'no repository could be read, so the identity is unknown.')
  } else if (isSharedActionsIdentity(viewer)) {
    line(
      'warn',
      'identity',
      `the loop acts as \`${viewer}\`, the identity every workflow's GITHUB_TOKEN in these repositories shares: any workflow here could write a status comment the loop would trust. Use a GitHub App token for the loop (see docs/setup.md).`
    )
  } else {
    line(
      'pass',
      'identity',
      `the loop acts as \`${viewer}\`; only status comments by \`${viewer}\` carry state.`
    )
  }

  if (input.agent && 'unchecked' in input.agent) {
    line('skip', 'agent', input.agent.unchecked)
  } else if (input.agent) {
    const a = input.agent
    line(a.reach.ok ? 'pass' : 'fail', `agent: ${a.backend}`, a.reach.detail)
    for (const r of a.repos) line(r.ok ? 'pass' : 'fail', `${r.repo}: agent`, r.detail)
  }

  const s = input.schedule
  if (s === null) {
    line('skip', 'schedule', 'not run by GitHub Actions, so there is no schedule to check.')
  } else if ('error' in s) {
    line('skip', 'schedule', `the workflow's repository could not be read: ${s.error}`)
  } else if (s.isPrivate) {
    line(
      'pass',
      `schedule (${s.repo})`,
      'a private repository: GitHub does not disable its scheduled workflows for inactivity.'
    )
  } else {
    const idle = s.pushedAt ? input.now.getTime() - Date.parse(s.pushedAt) : null
    const left = idle === null ? null : SCHEDULE_INACTIVITY_DAYS * DAY - idle
    const status = left !== null && left < SCHEDULE_WARN_DAYS * DAY ? 'warn' : 'pass'
    line(
      status,
      `schedule (${s.repo})`,
      `a public repository: GitHub disables scheduled workflows after ${SCHEDULE_INACTIVITY_DAYS} days without activity${idle === null ? '' : ` (last push ${formatDuration(Math.round(idle / 1000))} ago${left !== null && left > 0 ? `, about ${Math.ceil(left / DAY)} day(s) left` : ', so it may already be disabled'})`}. Push now and then, or re-enable the workflow on the Actions tab when GitHub disables it.`
    )
  }
  for (const d of input.doorbells ?? []) {
    if (d.error === null) {
      line('pass', `doorbell: ${d.channel}`, 'accepted a signed test delivery.')
    } else {
      line(
        'fail',
        `doorbell: ${d.channel}`,
        `${d.error}. Check the URL (and the receiver's answer).`
      )
    }
  }
  return lines
}

/**
 * The dashboard's two lines: the issue (found, or who will open it) and its
 * label. What the next tick would write there (create, label, reopen) needs
 * `issues: write`, as the probe found it.
 */
function dashboardLines(
  r: RepoFacts,
  d: DashboardFacts,
  line: (status: CheckStatus, subject: string, detail: string) => void
): void {
  const subject = `${r.repo}: dashboard`
  if ('error' in d) {
    line('skip', subject, `the dashboard could not be looked for: ${d.error}`)
    return
  }
  const may = r.writes.find((w) => w.permission === 'issues: write')?.allowed ?? null
  const label = `\`${d.label.name}\``
  const grant = 'grant `issues: write`.'
  const verdict = (then: string, cannot: string): void => {
    if (may === true) line('pass', subject, `${then} (the token may).`)
    else if (may === false) line('fail', subject, `${cannot}, and the token may not: ${grant}`)
    else line('skip', subject, `${then}, but whether the token may could not be told.`)
  }
  const i = d.issue
  if (i === null) {
    verdict(
      'none yet: the first tick with `dashboard: true` opens it',
      'none yet; the first tick would open it'
    )
  } else {
    const todo = [...(i.labelled ? [] : ['labels it']), ...(i.closed ? ['reopens it'] : [])]
    const state = [
      ...(i.closed ? ['closed'] : []),
      ...(i.labelled ? [] : [`without its label ${label} (opened by an earlier release)`])
    ]
    if (todo.length === 0) {
      verdict(
        `#${i.number} (${i.url}); each tick rewrites it only when its text changes`,
        `#${i.number} (${i.url}) exists, but the ticks would have to rewrite it`
      )
    } else {
      verdict(
        `#${i.number} (${i.url}), ${state.join(' and ')}: the next tick ${todo.join(' and ')}`,
        `#${i.number} (${i.url}), ${state.join(' and ')}; the next tick would have to write to it`
      )
    }
  }
  const labelSubject = `${r.repo}: dashboard label`
  if (d.label.exists) line('pass', labelSubject, `${label} exists.`)
  else if (may === true)
    line('pass', labelSubject, `${label} missing; created with the dashboard (the token may).`)
  else if (may === false)
    line(
      'fail',
      labelSubject,
      `${label} missing, and the token may not create labels: create it by hand, or ${grant}`
    )
  else line('skip', labelSubject, `${label} missing; whether the token may create it is unknown.`)
}

const ICON: Readonly<Record<CheckStatus, string>> = {
  pass: '✅ pass',
  fail: '❌ fail',
  warn: '⚠️ warn',
  skip: '➖ skip'
}

/** `N passed, N failed, N warnings, N skipped`. */
export function checkCounts(lines: readonly CheckLine[]): Record<CheckStatus, number> {
  const counts: Record<CheckStatus, number> = { pass: 0, fail: 0, warn: 0, skip: 0 }
  for (const l of lines) counts[l.status]++
  return counts
}

export function checkSummaryLine(lines: readonly CheckLine[]): string {
  const c = checkCounts(lines)
  return `afk-loop (check): ${c.pass} passed, ${c.fail} failed, ${c.warn} warning(s), ${c.skip} skipped; nothing was written`
}

/** The job summary of a check. */
export function checkMarkdown(lines: readonly CheckLine[]): string {
  const out = ['### afk-loop check', '', checkSummaryLine(lines), '']
  out.push('| result | check | detail |', '|---|---|---|')
  for (const l of lines) {
    out.push(`| ${ICON[l.status]} | ${cell(l.subject)} | ${cell(l.detail)} |`)
  }
  return out.join('\n')
}

/** One log line per check. */
export function checkLogLine(l: CheckLine): string {
  return `${l.status.toUpperCase()} ${l.subject}: ${l.detail}`
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s+/g, ' ')
}
