/**
 * The dashboard issue's text and hidden record (`dashboard: true`): one
 * issue per repository listing the runs in flight, the last endings, the
 * points the last tick spent, and two checkboxes a maintainer can tick.
 *
 * The text is a pure function of the record and the tick's rows, and holds
 * nothing that moves by itself between two quiet ticks (elapsed time is
 * shown in whole hours, deadlines as times), so an unchanged world renders
 * the same text and the loop writes nothing.
 *
 * The record (the last {@link ENDINGS_LIMIT} endings, who set each switch,
 * the last ignored ticks) lives in a hidden block like a run record, signed
 * with `state-secret` when one is set (bound to the repository).
 *
 * Checkboxes: the boxes in the body are compared with the switches in the
 * record. A difference is a maintainer's edit; it counts only when every
 * editor since the loop's own last edit has a trusted association. Otherwise
 * it is ignored, noted on the dashboard and in the job summary, and the
 * boxes are written back as the record has them.
 */
import { z } from 'zod'
import type { AuthorAssociation, Mode } from '../config.js'
import { recordMac } from './bookkeeping.js'

/** The marker the loop finds its dashboard by (the start of the hidden record). */
export const DASHBOARD_MARKER = '<!-- afk-loop:dashboard'
const END = '-->'
const MAC_LABEL = 'hmac-sha256='
export const ENDINGS_LIMIT = 20
const IGNORED_LIMIT = 5

export const PAUSE_BOX = 'Pause claiming'
export const HAND_BACK_BOX = 'Hand everything back'

const switchSchema = z.object({ by: z.string().max(100), at: z.string().max(40) }).nullable()

export const dashboardRecordSchema = z.object({
  v: z.literal(1),
  repo: z.string().max(200),
  pause: switchSchema,
  handBack: switchSchema,
  endings: z
    .array(
      z.object({
        issue: z.number().int().positive(),
        action: z.string().max(40),
        reason: z.string().max(80),
        at: z.string().max(40)
      })
    )
    .max(ENDINGS_LIMIT),
  ignored: z
    .array(z.object({ by: z.string().max(100), box: z.string().max(40), at: z.string().max(40) }))
    .max(IGNORED_LIMIT)
})

export type DashboardRecord = z.infer<typeof dashboardRecordSchema>

export function emptyDashboardRecord(repo: string): DashboardRecord {
  return { v: 1, repo: repo.toLowerCase(), pause: null, handBack: null, endings: [], ignored: [] }
}

function mac(json: string, repo: string, secret: string): string {
  return recordMac(json, { secret, repo, issue: 0, issueId: 'afk-loop dashboard' })
}

/** The hidden block: canonical JSON (schema order), `<`, `>`, `&` escaped so `-->` can't occur. */
export function encodeDashboardRecord(record: DashboardRecord, secret: string | null): string {
  const canonical = dashboardRecordSchema.parse(record)
  const json = JSON.stringify(canonical).replace(
    /[^\x20-\x7e]|[<>&]/g,
    (ch) => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0')
  )
  const seal = secret ? ` ${MAC_LABEL}${mac(json, canonical.repo, secret)}` : ''
  return `${DASHBOARD_MARKER} v1${seal}\n${json}\n${END}`
}

/** The record in a dashboard body, or why it can't be trusted. */
export function decodeDashboardRecord(
  body: string,
  repo: string,
  secret: string | null
): { ok: true; record: DashboardRecord } | { ok: false; why: string } {
  const start = body.lastIndexOf(DASHBOARD_MARKER)
  const end = start < 0 ? -1 : body.indexOf(END, start + DASHBOARD_MARKER.length)
  if (start < 0 || end < 0) return { ok: false, why: 'it carries no record' }
  const inner = body.slice(start + DASHBOARD_MARKER.length, end)
  const newline = inner.indexOf('\n')
  const header = newline < 0 ? inner : inner.slice(0, newline)
  const json = newline < 0 ? '' : inner.slice(newline + 1).trim()
  const sealed = new RegExp(`^ v1(?: ${MAC_LABEL}([0-9a-f]{64}))?\\s*$`).exec(header)
  if (!sealed) return { ok: false, why: 'its record header is not one the loop writes' }
  let parsed: DashboardRecord
  try {
    parsed = dashboardRecordSchema.parse(JSON.parse(json))
  } catch {
    return { ok: false, why: 'its record does not parse' }
  }
  if (parsed.repo !== repo.toLowerCase())
    return { ok: false, why: 'its record is for another repository' }
  if (secret && sealed[1] !== mac(json, parsed.repo, secret)) {
    return { ok: false, why: 'its record is not signed with state-secret' }
  }
  return { ok: true, record: parsed }
}

/** Which boxes a body has ticked; null for a box that is not there. */
export function ticked(body: string): { pause: boolean | null; handBack: boolean | null } {
  const box = (name: string): boolean | null => {
    const m = new RegExp(`^\\s*[-*] \\[( |x|X)\\] \\*\\*${name}\\*\\*`, 'm').exec(body)
    return m ? m[1] !== ' ' : null
  }
  return { pause: box(PAUSE_BOX), handBack: box(HAND_BACK_BOX) }
}

/** What the loop makes of a dashboard this tick. */
export interface DashboardVerdict {
  record: DashboardRecord
  /** Notes for the job summary (ignored ticks, an untrusted record). */
  notes: string[]
}

/**
 * Apply the maintainers' edits to the record: a box whose state differs
 * from the record's switch counts when every editor since the loop's last
 * edit is trusted; otherwise it is ignored and noted.
 */
export function readDashboard(input: {
  repo: string
  body: string
  editors: readonly { login: string; association: AuthorAssociation }[]
  trusted: readonly AuthorAssociation[]
  secret: string | null
  now: string
}): DashboardVerdict {
  const notes: string[] = []
  const untrusted = input.editors.filter((e) => !input.trusted.includes(e.association))
  const decoded = decodeDashboardRecord(input.body, input.repo, input.secret)
  let record: DashboardRecord
  if (!decoded.ok) {
    notes.push(`The dashboard of ${input.repo} was reset: ${decoded.why}.`)
    record = emptyDashboardRecord(input.repo)
  } else if (!input.secret && untrusted.length > 0) {
    // Without a signature, an edit by someone untrusted may have changed the record too.
    notes.push(
      `The dashboard of ${input.repo} was reset: edited by ${untrusted.map((e) => `@${e.login}`).join(', ')} (not in trusted-associations) and not signed (set state-secret).`
    )
    record = emptyDashboardRecord(input.repo)
  } else {
    record = decoded.record
  }
  const boxes = ticked(input.body)
  const by = input.editors[0]?.login ?? null
  const apply = (
    box: string,
    wanted: boolean | null,
    current: DashboardRecord['pause']
  ): DashboardRecord['pause'] => {
    if (wanted === null || wanted === (current !== null) || by === null) return current
    if (untrusted.length > 0) {
      const who = untrusted.map((e) => `@${e.login} (${e.association})`).join(', ')
      notes.push(
        `Ignored on the dashboard of ${input.repo}: "${box}" was ${wanted ? 'ticked' : 'unticked'} in an edit by ${who}, not in trusted-associations.`
      )
      record.ignored = [
        ...record.ignored,
        { by: untrusted[0]?.login ?? by, box, at: input.now }
      ].slice(-IGNORED_LIMIT)
      return current
    }
    return wanted ? { by, at: input.now } : null
  }
  record.pause = apply(PAUSE_BOX, boxes.pause, record.pause)
  record.handBack = apply(HAND_BACK_BOX, boxes.handBack, record.handBack)
  return { record, notes }
}

/** The mode a repository runs in: its dashboard can only make it stricter. */
export function dashboardMode(mode: Mode, record: DashboardRecord | null): Mode {
  if (!record) return mode
  if (record.handBack && (mode === 'on' || mode === 'watch')) return 'stop'
  if (record.pause && mode === 'on') return 'watch'
  return mode
}

/** A run's row as the dashboard shows it. */
export interface DashboardRun {
  issue: number
  url: string
  phase: string | null
  attempts: number
  maxAttempts: number
  elapsedSeconds: number | null
  /** When the run hands back at the latest (claim + max-runtime), ISO. */
  deadline: string | null
}

/** Whole hours only: the text must not change between two quiet ticks. */
export function coarseElapsed(seconds: number | null): string {
  if (seconds === null) return '-'
  const hours = Math.floor(seconds / 3600)
  return hours < 1 ? 'under 1h' : `${hours}h`
}

const minute = (iso: string): string => iso.slice(0, 16).replace('T', ' ') + ' UTC'
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')

/** The dashboard's whole body. */
export function renderDashboard(input: {
  repo: string
  record: DashboardRecord
  runs: readonly DashboardRun[]
  pointsSpent: number | null
  secret: string | null
}): string {
  const { record } = input
  const box = (on: boolean) => (on ? 'x' : ' ')
  const lines = [
    `afk-loop keeps this issue up to date for ${input.repo}: it rewrites it only when something changes. Tick a box to act (only people whose association is in \`trusted-associations\` count).`,
    '',
    `- [${box(record.pause !== null)}] **${PAUSE_BOX}**: start no new run in this repository (as \`mode: watch\`).`,
    `- [${box(record.handBack !== null)}] **${HAND_BACK_BOX}**: interrupt every run and hand it back (as \`mode: stop\`).`
  ]
  const set: string[] = []
  if (record.pause) set.push(`Paused by @${record.pause.by} at ${minute(record.pause.at)}.`)
  if (record.handBack)
    set.push(
      `Handing everything back since @${record.handBack.by} asked at ${minute(record.handBack.at)}.`
    )
  for (const i of record.ignored)
    set.push(
      `Ignored: @${i.by} changed "${i.box}" at ${minute(i.at)} (not in trusted-associations).`
    )
  if (set.length > 0) lines.push('', ...set)
  lines.push('', `### Runs in flight (${input.runs.length})`, '')
  if (input.runs.length === 0) lines.push('None.')
  else {
    lines.push('| Issue | Phase | Attempts | Elapsed | Next deadline |', '|---|---|---|---|---|')
    for (const r of input.runs) {
      lines.push(
        `| [#${r.issue}](${r.url}) | ${cell(r.phase ?? '-')} | ${r.attempts}/${r.maxAttempts} | ${coarseElapsed(r.elapsedSeconds)} | ${r.deadline ? minute(r.deadline) : '-'} |`
      )
    }
  }
  lines.push('', `### Last ${ENDINGS_LIMIT} endings`, '')
  if (record.endings.length === 0) lines.push('None yet.')
  else {
    lines.push('| Issue | Ending | Reason | At |', '|---|---|---|---|')
    for (const e of [...record.endings].reverse()) {
      lines.push(`| #${e.issue} | ${cell(e.action)} | ${cell(e.reason)} | ${minute(e.at)} |`)
    }
  }
  lines.push(
    '',
    '### Points',
    '',
    input.pointsSpent === null
      ? 'The last tick did not learn its GitHub points.'
      : `The last tick spent ${input.pointsSpent} GitHub GraphQL point${input.pointsSpent === 1 ? '' : 's'}.`,
    '',
    encodeDashboardRecord(record, input.secret)
  )
  return lines.join('\n')
}

/** Append the tick's endings, keeping the last {@link ENDINGS_LIMIT}. */
export function withEndings(
  record: DashboardRecord,
  endings: readonly DashboardRecord['endings'][number][]
): DashboardRecord {
  return { ...record, endings: [...record.endings, ...endings].slice(-ENDINGS_LIMIT) }
}
