/**
 * The watcher drives one in-flight run one step per tick.
 *
 * 1. Restore the run record from the loop's status comment. A missing,
 *    corrupt or someone-else-edited comment means the record can't be
 *    trusted: the run is handed back to a human, never guessed at. Comments
 *    that merely look like the loop's are ignored and reported.
 * 2. Respect humans: `core/evidence.ts` says whether a human took over (a
 *    closed issue — unless the run's own work closed it —, a removed
 *    in-progress label, an added human label, a trusted author's pull
 *    request). The loop interrupts the agent, says so in the comment, and
 *    rings nothing. Outsiders' pull requests are noted on the row and ignored.
 *    When they cut the closing list short and the agent names a branch of
 *    its own (Copilot), that branch's pull requests are read first (once).
 *    Which of these applies — skip, hand back, release, finish, stop, drive —
 *    is one ordered rule table, `core/triage.ts`; this file gathers its facts
 *    and does the I/O of the route it picks.
 * 3. Reconcile a leftover dispatch intent (a tick died between writing the
 *    intent and recording its result): look the keyed thread up before ever
 *    dispatching again.
 * 4. Assemble the RunState from this tick's facts, `decide`, and do exactly
 *    the I/O the verdict implies (DESIGN.md's table). Side effects that can't
 *    be repeated are written as intents first, then done, then recorded.
 * 5. Write the record back into the same comment, only if its text changed.
 *
 * A run ends in two writes: the record with its terminal mark, interrupt and
 * doorbell (the intent), then the label changes. A tick that dies between
 * them, or a label write that fails, leaves an ended record whose labels the
 * next tick repairs, as the end it was, doorbell included. A run that has
 * ended keeps only that repair and delivering its doorbell from the outbox,
 * with retries — the `notify-mention` notice among them: a short new comment
 * posted once (looked up by its key before any retry), since GitHub may not
 * notify people mentioned by an edit.
 */
import { decode, type OutboxEntry, type RecordSeal, type RunRecord } from '../core/bookkeeping.js'
import { recordProblem, repositoryUrl } from '../core/record-checks.js'
import { triage } from '../core/triage.js'
import { noticeBody, noticeMarker, REASON_TEXT } from '../core/checklist.js'
import {
  detectTakeover,
  hasLabel,
  ignoredNote,
  ignoredPullRequests,
  isOwnPullRequest,
  mayHavePushed,
  sameLabel,
  workOutOfView
} from '../core/evidence.js'
import { dueChannels, isSettled, openOutboxEntry, recordDelivery } from '../core/outbox.js'
import { firstTurnPrompt, fixForwardPrompt, runBranch } from '../core/prompts.js'
import { decide } from '../core/state-machine.js'
import {
  DOORBELL_FOR_ACTION,
  doorbellFor,
  ENDING_RULES,
  type Action,
  type AnyReason,
  type CIStatus,
  type Delivery,
  type DoorbellKind,
  type Ending,
  type Policy
} from '../core/types.js'
import type { AuthorAssociation, Mode, RepoRef } from '../config.js'
import type { Effects } from './effects.js'
import {
  PermanentDispatchError,
  type AgentSnapshot,
  type Notification,
  type PullRequestFact,
  type StatusComment,
  type TrackedIssue
} from './ports.js'
import type { RunRow } from './report.js'
import {
  attemptKey,
  currentThread,
  doorbellKey,
  endRecord,
  failDispatch,
  MAX_DISPATCH_FAILURES,
  newRecord,
  noteDecision,
  phaseOf,
  recordMatches,
  recordThread,
  runEvidence,
  secondsSince,
  selectPushed,
  statusCommentBody,
  trackCommit,
  trackIdle,
  type LoopLabels,
  type PushedFact
} from './run-view.js'

export { MAX_DISPATCH_FAILURES }

/** The outbox channel of the `notify-mention` notice (a comment on the issue). */
export const MENTION_CHANNEL = 'mention'

/** The parts of the configuration the loop itself uses. */
export interface LoopSettings {
  mode: Mode
  delivery: Delivery
  labels: LoopLabels
  policy: Policy
  templates: { first: string; fixForward: string }
  mention: string | null
  /** Author associations whose pull requests count as a human taking over. */
  trustedAssociations: readonly AuthorAssociation[]
  /** `state-secret`: when set, every record carries a MAC and only records whose MAC verifies are trusted. */
  stateSecret?: string | null
}

/** What a record's MAC binds it to, when a state secret is set. */
export function sealFor(
  settings: Pick<LoopSettings, 'stateSecret'>,
  repo: RepoRef,
  issue: { id: string; number: number }
): RecordSeal | null {
  return settings.stateSecret
    ? { secret: settings.stateSecret, repo: repo.key, issue: issue.number, issueId: issue.id }
    : null
}

/** When GitHub recorded the loop's own latest adding of the in-progress label, if in view. */
export function labelledAt(issue: Pick<TrackedIssue, 'labelEvents'>, label: string): string | null {
  const events = issue.labelEvents.filter(
    (e) => sameLabel(e.label, label) && e.action === 'added' && e.byViewer
  )
  return events[events.length - 1]?.at ?? null
}

/** Everything one run's step needs. */
export interface RunContext {
  settings: LoopSettings
  repo: RepoRef
  defaultBranch: string
  issue: TrackedIssue
  snapshot: AgentSnapshot
  now: Date
  effects: Effects
  warn: (message: string) => void
  /** Notifications that ran out of retries, for the summary. */
  undeliverable: (entry: { kind: string; error: string | null }) => void
  /**
   * Another allowlisted repository by `owner/name`, with whether it still
   * has an issue of that number this tick (`null`: not allowlisted; `unread`:
   * it could not be read). Lets a run whose issue was transferred here be
   * recognised, and its agent stopped.
   */
  origin?: (fullName: string, issue: number) => { repo: RepoRef; has: boolean | 'unread' } | null
}

/** The run's status comment as last written, and how to write it again. */
export class CommentWriter {
  private id: string | null
  private body: string | null
  private hadIntent: boolean

  constructor(
    private readonly ctx: Pick<RunContext, 'settings' | 'repo' | 'effects'> & {
      issue: { id: string; number: number; url: string }
    },
    comment: StatusComment | null,
    record: RunRecord | null
  ) {
    this.id = comment?.id ?? null
    this.body = comment?.body ?? null
    this.hadIntent = record?.intent != null
  }

  /**
   * Write the record (and label changes) if anything changed. The comment is
   * skipped when its text is unchanged; with an intent on either side, the
   * adapter re-reads it first and refuses to overwrite a body that moved.
   */
  async save(
    record: RunRecord,
    ci: CIStatus | null,
    labels: { add?: string[]; remove?: string[]; close?: boolean } = {}
  ): Promise<void> {
    const s = this.ctx.settings
    const body = statusCommentBody(record, {
      issueUrl: this.ctx.issue.url,
      maxAttempts: s.policy.maxFixForwardAttempts,
      maxRuntimeSeconds: s.policy.maxRuntimeSeconds,
      ci,
      seal: sealFor(s, this.ctx.repo, this.ctx.issue)
    })
    const commentChanged = body !== this.body
    const hasLabels = Boolean(labels.add?.length || labels.remove?.length || labels.close)
    if (!commentChanged && !hasLabels) return
    const guard =
      this.id !== null && this.body !== null && (this.hadIntent || record.intent !== null)
    const result = await this.ctx.effects.apply({
      repo: this.ctx.repo,
      issue: this.ctx.issue.number,
      issueId: this.ctx.issue.id,
      ...(commentChanged
        ? { comment: { id: this.id, body, ...(guard ? { expectBody: this.body ?? '' } : {}) } }
        : {}),
      ...(labels.add?.length ? { addLabels: labels.add } : {}),
      ...(labels.remove?.length ? { removeLabels: labels.remove } : {}),
      ...(labels.close ? { close: true } : {})
    })
    this.id = result.commentId ?? this.id
    this.body = body
    this.hadIntent = record.intent !== null
  }
}

/**
 * Drive one tracked issue one step: gather the triage facts, let
 * `core/triage.ts` pick the route, do that route's I/O. Throws only on an
 * unexpected failure.
 */
export async function stepRun(ctx: RunContext): Promise<RunRow> {
  const { settings } = ctx
  let issue = ctx.issue
  for (const forged of issue.forgedComments) {
    ctx.warn(
      `${ctx.repo.fullName}#${issue.number}: ignored a comment by @${forged.author ?? 'unknown'} that looks like afk-loop's status comment (${forged.url}); only the loop's own comments carry state.`
    )
  }
  const inProgress = hasLabel(issue.labels, settings.labels.inProgress)
  const comment = issue.statusComment
  const untouched = comment && !comment.editedByOther ? comment : null
  const moved = untouched ? transferredHere(ctx, untouched) : null
  const decoded =
    untouched && !moved ? decode(untouched.body, sealFor(settings, ctx.repo, issue)) : null
  const readable =
    decoded?.kind === 'ok' && recordMatches(decoded.record, ctx.repo, issue.number)
      ? decoded.record
      : null
  const problem = readable
    ? recordProblem(readable, {
        repo: ctx.repo.key,
        issue: issue.number,
        issueUrl: issue.url,
        now: ctx.now,
        labelledAt: labelledAt(issue, settings.labels.inProgress)
      })
    : null
  const record = problem ? null : readable
  if (record) {
    ctx = await withAgentBranchPullRequests(ctx, record)
    issue = ctx.issue
  }
  const evidence = record
    ? {
        run: runEvidence(record, ctx.snapshot),
        labels: settings.labels,
        trustedAssociations: settings.trustedAssociations
      }
    : null
  const takeover = record && evidence && !record.terminal ? detectTakeover(issue, evidence) : null
  // Why the record isn't trusted, in words (for the hand-back or the skip note).
  const why =
    decoded?.kind === 'unverified'
      ? decoded.reason
      : (problem ??
        (decoded?.kind === 'corrupt' ? decoded.reason : 'the record belongs to another issue'))

  const rule = triage({
    inProgress,
    comment: !comment ? 'missing' : comment.editedByOther ? 'edited' : 'present',
    transfer: moved === 'unconfirmed' ? 'unconfirmed' : moved ? 'confirmed' : 'none',
    record: decoded?.kind === 'unverified' || problem ? 'unverified' : record ? 'ok' : 'corrupt',
    ended: record?.terminal != null,
    unfinishedClaim: record ? record.threads.length === 0 && record.intent?.attempt === 0 : false,
    takeover: takeover !== null,
    stopping: settings.mode === 'stop'
  })

  switch (rule.route) {
    case 'skip':
      return skipRow(
        ctx,
        rule.reason === undefined && rule.row === 7
          ? `${rule.note ?? ''}: ${why}`
          : (rule.note ?? ''),
        record
      )
    case 'hand-back-untrusted': {
      const detail =
        rule.reason === 'record-edited'
          ? comment?.editor
            ? `(edited by @${comment.editor})`
            : null
          : rule.reason === 'record-missing'
            ? null
            : `(${why})`
      return handBackUntrusted(ctx, comment, rule.reason ?? 'record-corrupt', detail)
    }
    case 'release-transferred':
      if (!untouched || !moved || moved === 'unconfirmed') break
      return releaseTransferred(ctx, untouched, moved.record, moved.origin)
    case 'finish':
      if (!untouched || !record) break
      return finishRun(ctx, untouched, record)
    case 'release':
      if (!untouched || !record || !takeover) break
      return release(ctx, untouched, record, takeover.reason, takeover.detail)
    case 'emergency-stop':
    case 'drive': {
      if (!untouched || !record || !evidence) break
      const result =
        rule.route === 'emergency-stop'
          ? await emergencyStop(ctx, untouched, record)
          : await drive(ctx, untouched, record)
      const ignored = ignoredNote(ignoredPullRequests(issue, evidence))
      return ignored
        ? { ...result, note: [result.note, ignored].filter(Boolean).join('; ') }
        : result
    }
  }
  throw new Error(`triage row ${rule.row} (${rule.route}) without the facts it needs`)
}

/**
 * The run's own pull requests on the branch its agent names, merged into the
 * issue's facts — only when they may be missing from them: the closing list
 * was cut (`pullRequestsComplete: false`: outsiders can open more than the
 * adapter reads), the run is still open and delivers by pull request, and
 * the agent names a branch of its own for the current thread (Copilot picks
 * its own; the adapter already looked up `afk/issue-N`) on which no pull
 * request of this repository is in view. One look-up (1 point) per run per
 * tick, none on a quiet tick; a failed one is warned about, and the run then
 * waits as `work-out-of-view`. Pull requests the loop's own identity opened
 * on other branches are not looked up: nothing names their branch.
 */
async function withAgentBranchPullRequests(
  ctx: RunContext,
  record: RunRecord
): Promise<RunContext> {
  const { issue } = ctx
  const thread = currentThread(record)
  if (issue.pullRequestsComplete !== false || record.terminal || record.delivery === 'trunk')
    return ctx
  const branch = thread ? (ctx.snapshot.branch?.(thread.id) ?? null) : null
  if (!branch || branch === runBranch(issue.number)) return ctx
  const inView = issue.pullRequests.some(
    (p) =>
      p.headRefName === branch &&
      isOwnPullRequest(p, { repo: record.repo, issue: issue.number, branches: [branch] })
  )
  if (inView) return ctx
  let found: PullRequestFact[] | null
  try {
    found = await ctx.effects.pullRequestsOnBranch(ctx.repo, branch)
  } catch (error) {
    ctx.warn(
      `${ctx.repo.fullName}#${issue.number}: could not read the pull requests of the agent's branch ${branch}: ${errorMessage(error)}`
    )
    return ctx
  }
  const known = new Set(issue.pullRequests.map((p) => p.number))
  const added = (found ?? []).filter((p) => !known.has(p.number))
  if (added.length === 0) return ctx
  const pullRequests = [...issue.pullRequests, ...added].sort(
    (a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt)
  )
  return { ...ctx, issue: { ...issue, pullRequests } }
}

/**
 * A run whose issue was transferred here from another allowlisted repository:
 * its record names the old home. GitHub keeps the issue's node id through a
 * transfer and moves its comments, so the record is believed only if it is
 * provably that run's: with a state secret, its MAC verifies for the old
 * repository and number and this very issue node; without one, it fits the
 * old issue (keys, threads, links, times) and the old repository no longer
 * has that issue (a copy of a live run's record is not a transfer).
 */
function transferredHere(
  ctx: RunContext,
  comment: StatusComment
): { record: RunRecord; origin: RepoRef } | 'unconfirmed' | null {
  const plain = decode(comment.body)
  if (plain.kind !== 'ok' || recordMatches(plain.record, ctx.repo, ctx.issue.number)) return null
  const record = plain.record
  const origin = ctx.origin?.(record.repo, record.issue) ?? null
  if (!origin || origin.repo.key === ctx.repo.key) return null
  if (origin.has === 'unread') return 'unconfirmed'
  if (origin.has) return null
  const seal = sealFor(ctx.settings, origin.repo, { id: ctx.issue.id, number: record.issue })
  if (seal && decode(comment.body, seal).kind !== 'ok') return null
  const originUrl = `${repositoryUrl(ctx.issue.url).replace(/[^/]+\/[^/]+$/, origin.repo.fullName)}/issues/${record.issue}`
  const problem = recordProblem(record, {
    repo: origin.repo.key,
    issue: record.issue,
    issueUrl: originUrl,
    now: ctx.now
  })
  return problem === null ? { record, origin: origin.repo } : null
}

/**
 * The issue left the repository its run was claimed in: release the run and
 * interrupt its agent (in the old repository, where it was dispatched). The
 * loop rings nothing: someone moved the issue on purpose.
 */
async function releaseTransferred(
  ctx: RunContext,
  comment: StatusComment,
  record: RunRecord,
  origin: RepoRef
): Promise<RunRow> {
  const from = `(moved from ${origin.fullName}#${record.issue})`
  const labelled = ctx.issue.labels.includes(ctx.settings.labels.inProgress)
  const pending = record.terminal?.interrupt ?? null
  if (record.terminal && !pending && !labelled) {
    return skipRow(ctx, `run released; the issue moved here ${from}`)
  }
  const writer = new CommentWriter(ctx, comment, record)
  // The end and its interrupt are written first (an intent), then done.
  const thread = currentThread(record)
  let ended = record.terminal
    ? record
    : endRecord(
        record,
        {
          action: 'RELEASE',
          reason: 'issue-transferred',
          ci: null,
          detail: from,
          interrupt: thread?.id ?? null
        },
        ctx.now
      )
  await writer.save(ended, null, labelled ? { remove: [ctx.settings.labels.inProgress] } : {})
  let note: string | null = null
  const interrupt = ended.terminal?.interrupt ?? null
  if (ended.terminal && interrupt) {
    try {
      await ctx.effects.interrupt({ repo: origin, threadId: interrupt, ...keyOf(ended, interrupt) })
      ended = { ...ended, terminal: { ...ended.terminal, interrupt: null } }
      await writer.save(ended, null)
    } catch (error) {
      note = `could not interrupt the agent yet: ${errorMessage(error)}`
    }
  }
  return row(ctx, ended, 'RELEASE', 'issue-transferred', null, null, note)
}

/**
 * The verdicts that conclude "nothing was pushed" (rows 10–12 of the
 * decision table); `runtime-exceeded` is a deadline, not such a conclusion.
 */
const NOTHING_PUSHED_REASONS: ReadonlySet<AnyReason> = new Set([
  'agent-error',
  'agent-idle-without-push',
  'agent-stalled'
])

/** The normal step: reconcile, assemble, decide, act. */
async function drive(ctx: RunContext, comment: StatusComment, start: RunRecord): Promise<RunRow> {
  const { settings, now } = ctx
  const writer = new CommentWriter(ctx, comment, start)
  let record = start
  const pushed = selectPushed(ctx.issue, record, ctx.snapshot)
  const ci = pushed?.ci.status ?? null

  let dispatchError: string | null = null
  if (record.intent) {
    // An intent already at the limit failed permanently last tick: hand back without trying again.
    const outcome =
      record.intent.failures >= MAX_DISPATCH_FAILURES
        ? { record, error: null }
        : await fulfilIntent(ctx, record, pushed, { fresh: false })
    record = outcome.record
    dispatchError = outcome.error
    if (record.intent && record.intent.failures >= MAX_DISPATCH_FAILURES) {
      // Pushed or not decides the doorbell: a fix-forward that can't start
      // leaves pushed work behind (frozen); a first turn that can't, none.
      return endRun(ctx, writer, record, 'HAND_BACK', 'dispatch-failed', ci, {
        pushed: pushed !== null,
        detail: `(last error: ${record.intent.lastError ?? 'unknown'})`
      })
    }
  }

  const thread = currentThread(record)
  const threadStatus = thread ? ctx.snapshot.status(thread.id) : null
  record = trackCommit(record, pushed, now)
  record = trackIdle(record, threadStatus, now)
  let decision: { action: Action; reason: AnyReason } = decide(
    {
      threadStatus,
      ciStatus: ci,
      pushed: pushed !== null,
      fixForwardAttempts: record.fixForwardAttempts,
      elapsedSeconds: secondsSince(record.claimedAt, now),
      ciWaitSeconds: record.commit ? secondsSince(record.commit.firstSeenAt, now) : null,
      idleSeconds: record.idleSince ? secondsSince(record.idleSince, now) : null
    },
    settings.policy
  )
  // "Nothing pushed" read from a closing-pull-request list that was cut
  // short is a guess: wait for the run's own instead (max-runtime still ends it).
  if (
    NOTHING_PUSHED_REASONS.has(decision.reason) &&
    workOutOfView(ctx.issue, runEvidence(record, ctx.snapshot))
  ) {
    ctx.warn(
      `${ctx.repo.fullName}#${ctx.issue.number}: not handed back (${decision.reason}): more pull requests close this issue than afk-loop reads, so the run's own may be among the unread; waiting (max-runtime still applies).`
    )
    decision = { action: 'WAIT', reason: 'work-out-of-view' }
  }

  const terminalKind = DOORBELL_FOR_ACTION[decision.action]
  if (terminalKind !== null) {
    return endRun(ctx, writer, record, decision.action as Ending, decision.reason, ci, {
      pushed: pushed !== null,
      interrupt: threadStatus === 'running'
    })
  }

  if (decision.action === 'FIX_FORWARD' && !record.intent && pushed) {
    const attempt = record.fixForwardAttempts + 1
    record = noteDecision(record, {
      at: now.toISOString(),
      action: 'FIX_FORWARD',
      reason: decision.reason,
      detail: `attempt ${attempt}/${settings.policy.maxFixForwardAttempts} on ${pushed.sha.slice(0, 7)}`
    })
    record = {
      ...record,
      intent: {
        kind: 'dispatch',
        key: attemptKey(record.runKey, attempt),
        attempt,
        at: now.toISOString(),
        commit: pushed.sha,
        failures: 0,
        lastError: null
      }
    }
    await writer.save(record, ci) // the intent, before the effect
    const outcome = await fulfilIntent(ctx, record, pushed, { fresh: true })
    record = outcome.record
    await writer.save(record, ci) // the result
    return row(ctx, record, 'FIX_FORWARD', decision.reason, ci, outcome.error)
  }

  // WAIT (or a fix-forward whose dispatch is still pending): refresh the
  // checklist only if its text changed. An unreadable agent is transient and
  // not recorded: an outage must not rewrite every run's comment twice.
  const action: Action = 'WAIT'
  if (decision.reason !== 'no-status') {
    record = noteDecision(record, { at: now.toISOString(), action, reason: decision.reason })
  }
  await writer.save(record, ci)
  return row(ctx, record, action, decision.reason, ci, dispatchError)
}

/**
 * Carry out the record's dispatch intent: find the keyed thread first (unless
 * the intent was written this very tick), dispatch only if there is none,
 * then record the thread. A failed dispatch stays an intent, with its
 * failure counted, for the next tick.
 */
async function fulfilIntent(
  ctx: RunContext,
  record: RunRecord,
  pushed: PushedFact | null,
  opts: { fresh: boolean }
): Promise<{ record: RunRecord; error: string | null }> {
  const intent = record.intent
  if (!intent) return { record, error: null }
  const { repo, issue } = ctx
  try {
    let thread = opts.fresh ? null : await ctx.effects.find({ repo, key: intent.key })
    if (!thread) {
      thread = await ctx.effects.dispatch({
        repo,
        issue: issue.number,
        title: issue.title,
        attempt: intent.attempt,
        key: intent.key,
        branch: pushed?.branch ?? null,
        prompt: promptFor(ctx, record, intent.attempt, intent.commit, pushed)
      })
    }
    return { record: recordThread(record, thread, ctx.now), error: null }
  } catch (error) {
    if (isRateLimited(error)) throw error
    const message = errorMessage(error)
    if (error instanceof PermanentDispatchError) {
      ctx.warn(`${repo.fullName}#${issue.number}: the agent can't be started: ${message}`)
    }
    return { record: failDispatch(record, error), error: message }
  }
}

function promptFor(
  ctx: RunContext,
  record: RunRecord,
  attempt: number,
  commit: string | null,
  pushed: PushedFact | null
): string {
  const { issue, settings } = ctx
  const base = {
    repo: ctx.repo.fullName,
    issue: issue.number,
    title: issue.title,
    body: issue.body,
    url: issue.url,
    delivery: record.delivery
  }
  if (attempt === 0) {
    return firstTurnPrompt({ ...base, defaultBranch: ctx.defaultBranch }, settings.templates.first)
  }
  return fixForwardPrompt(
    {
      ...base,
      commit: commit ?? pushed?.sha ?? 'unknown',
      ciUrl: pushed && pushed.sha === commit ? pushed.ci.url : null,
      attempt,
      maxAttempts: settings.policy.maxFixForwardAttempts
    },
    settings.templates.fixForward
  )
}

/**
 * End the run: first the record with its terminal mark, its interrupt and its
 * doorbell's outbox entry (the intent), then the label changes, then the
 * interrupt and the doorbell, then their results. The ending's row of
 * `ENDING_RULES` says which doorbell, whether it hands back, whether trunk
 * closes the issue; pushed or not picks `frozen` or `needs-human`.
 */
async function endRun(
  ctx: RunContext,
  writer: CommentWriter,
  start: RunRecord,
  ending: Ending,
  reason: AnyReason,
  ci: CIStatus | null,
  opts: { pushed: boolean; interrupt?: boolean; detail?: string | null }
): Promise<RunRow> {
  const { now } = ctx
  const thread = currentThread(start)
  let record = endRecord(
    start,
    {
      action: ending,
      reason,
      ci,
      detail: opts.detail ?? null,
      interrupt: opts.interrupt && thread ? thread.id : null
    },
    now
  )
  const kind = doorbellFor(ending, opts.pushed)
  const channels = outboxChannels(ctx)
  if (kind && channels.length > 0) {
    record = {
      ...record,
      outbox: [
        ...record.outbox,
        openOutboxEntry({ key: doorbellKey(record.runKey, kind), kind, reason, channels, now })
      ]
    }
  }
  // The end, its interrupt and its doorbell are written first (intents) ...
  await writer.save(record, ci)
  // ... then the labels: a tick that dies here is repaired from the record ...
  await writer.save(record, ci, endingLabels(ctx, record))
  // ... then done, then recorded.
  const settled = await settleEnded(ctx, record, { fresh: true })
  await writer.save(settled.record, ci)
  return row(ctx, settled.record, ending, reason, ci, null, settled.note)
}

/** The label changes (and trunk's close) an ended record implies, given the issue as read. */
function endingLabels(
  ctx: Pick<RunContext, 'settings' | 'issue'>,
  record: RunRecord
): { add: string[]; remove: string[]; close: boolean } {
  const { settings, issue } = ctx
  const terminal = record.terminal
  if (!terminal) return { add: [], remove: [], close: false }
  const rule = ENDING_RULES[terminal.action as Ending]
  return {
    remove: hasLabel(issue.labels, settings.labels.inProgress) ? [settings.labels.inProgress] : [],
    add:
      rule.handsBack && !hasLabel(issue.labels, settings.labels.human)
        ? [settings.labels.human]
        : [],
    // A closed issue is never reopened, nor closed twice.
    close: rule.closesTrunkIssue && record.delivery === 'trunk' && issue.state === 'OPEN'
  }
}

/** The channels a run's end rings: the notifier's, and the mention's comment. */
function outboxChannels(ctx: Pick<RunContext, 'settings' | 'effects'>): string[] {
  return [...ctx.effects.channels, ...(ctx.settings.mention ? [MENTION_CHANNEL] : [])]
}

/**
 * The chores of an ended run: the pending interrupt, then the doorbell. Both
 * are retried on later ticks until done (the interrupt every tick, the
 * doorbell with backoff).
 */
async function settleEnded(
  ctx: RunContext,
  start: RunRecord,
  opts: { fresh: boolean }
): Promise<{ record: RunRecord; note: string | null }> {
  let record = start
  let note: string | null = null
  const pending = record.terminal?.interrupt ?? null
  if (record.terminal && pending) {
    try {
      await ctx.effects.interrupt({ repo: ctx.repo, threadId: pending, ...keyOf(record, pending) })
      record = { ...record, terminal: { ...record.terminal, interrupt: null } }
    } catch (error) {
      note = `could not interrupt the agent yet: ${errorMessage(error)}`
    }
  }
  return { record: await deliverOutbox(ctx, record, opts), note }
}

/** The dispatch key of one of the record's threads, for stopping it. */
function keyOf(record: RunRecord, threadId: string): { key?: string } {
  const thread = record.threads.find((t) => t.id === threadId)
  return thread ? { key: thread.key } : {}
}

/** A human took over: interrupt the agent, say so, ring nothing. */
function release(
  ctx: RunContext,
  comment: StatusComment,
  record: RunRecord,
  reason: AnyReason,
  detail: string | null
): Promise<RunRow> {
  const writer = new CommentWriter(ctx, comment, record)
  const pushed = selectPushed(ctx.issue, record, ctx.snapshot)
  return endRun(ctx, writer, record, 'RELEASE', reason, pushed?.ci.status ?? null, {
    pushed: pushed !== null,
    interrupt: true,
    detail
  })
}

/** `mode: stop`: interrupt the agent and hand the run back, ringing needs-human (frozen if it pushed). */
async function emergencyStop(
  ctx: RunContext,
  comment: StatusComment,
  record: RunRecord
): Promise<RunRow> {
  const writer = new CommentWriter(ctx, comment, record)
  const pushed = selectPushed(ctx.issue, record, ctx.snapshot)
  const ci = pushed?.ci.status ?? null
  let current = record
  if (current.intent) {
    // A dispatch may have happened before a crash: find it so it is stopped too.
    const found = await ctx.effects.find({ repo: ctx.repo, key: current.intent.key })
    if (found) current = recordThread(current, found, ctx.now)
  }
  return endRun(ctx, writer, current, 'HAND_BACK', 'emergency-stop', ci, {
    pushed: pushed !== null,
    interrupt: true
  })
}

/**
 * The record can't be trusted (missing, corrupt, edited by someone else):
 * hand the run back with an explanation and a fresh record, never guess.
 * The agent is not interrupted: a thread id read from an untrusted record
 * could name someone else's thread.
 */
async function handBackUntrusted(
  ctx: RunContext,
  comment: StatusComment | null,
  reason: AnyReason,
  detail: string | null
): Promise<RunRow> {
  const fresh = newRecord(ctx.repo, ctx.issue.number, ctx.settings.delivery, ctx.now)
  const record: RunRecord = { ...fresh, intent: null }
  // The writer starts from the comment as read, so the body is replaced.
  const writer = new CommentWriter(ctx, comment, null)
  return endRun(ctx, writer, record, 'HAND_BACK', reason, null, {
    detail,
    pushed: mayHavePushed(ctx.issue, ctx.repo.fullName)
  })
}

/**
 * A run that has ended: repair a terminal write that didn't finish (its
 * in-progress label is still there) as the end it was, deliver any doorbell
 * still due, write only if something changed.
 */
async function finishRun(
  ctx: RunContext,
  comment: StatusComment,
  start: RunRecord
): Promise<RunRow> {
  const { settings, issue } = ctx
  const terminal = start.terminal
  if (!terminal) throw new Error('finishRun needs an ended run')
  const writer = new CommentWriter(ctx, comment, start)
  const repair = hasLabel(issue.labels, settings.labels.inProgress)
  const { record, note } = await settleEnded(ctx, start, { fresh: false })
  await writer.save(record, terminal.ci, repair ? endingLabels(ctx, record) : {})
  const pending = record.outbox.some((e) => !isSettled(e))
  const changed = repair || record !== start
  return {
    ...row(ctx, record, terminal.action, terminal.reason, terminal.ci, null),
    action: changed ? 'FINISH' : 'DONE',
    note:
      [repair ? 'repaired labels' : null, pending ? 'doorbell pending' : null, note]
        .filter(Boolean)
        .join('; ') || null
  }
}

/** Ring every channel due in the outbox; record what happened. */
async function deliverOutbox(
  ctx: RunContext,
  start: RunRecord,
  opts: { fresh: boolean }
): Promise<RunRecord> {
  let changed = false
  const outbox = []
  for (const entry of start.outbox) {
    const due = isSettled(entry) ? [] : dueChannels(entry, ctx.now)
    if (due.length === 0) {
      outbox.push(entry)
      continue
    }
    const notification = notificationFor(ctx, start, entry.kind, entry.reason, entry.key)
    const results: { channel: string; ok: boolean; error?: string }[] = []
    for (const channel of due) {
      if (channel === MENTION_CHANNEL) {
        results.push(await postNotice(ctx, start, entry, opts.fresh))
        continue
      }
      if (!ctx.effects.channels.includes(channel)) {
        // The channel was removed from the configuration: nothing to deliver.
        results.push({ channel, ok: true })
        continue
      }
      try {
        await ctx.effects.notify(channel, notification)
        results.push({ channel, ok: true })
      } catch (error) {
        results.push({ channel, ok: false, error: errorMessage(error) })
      }
    }
    const next = recordDelivery(entry, results, ctx.now)
    if (next.abandonedAt && !entry.abandonedAt) {
      ctx.undeliverable({ kind: entry.kind, error: next.lastError })
    }
    outbox.push(next)
    changed = true
  }
  return changed ? { ...start, outbox } : start
}

/**
 * The `notify-mention` notice: a short new comment (GitHub notifies people
 * mentioned in a new comment; an edit may not). Posted once: unless the entry
 * was opened this very tick, the loop's recent comments are looked up by the
 * entry's key first, so a tick that died after posting never posts twice.
 */
async function postNotice(
  ctx: RunContext,
  record: RunRecord,
  entry: OutboxEntry,
  fresh: boolean
): Promise<{ channel: string; ok: boolean; error?: string }> {
  const mention = ctx.settings.mention
  // The mention was removed from the configuration: nothing to post.
  if (!mention) return { channel: MENTION_CHANNEL, ok: true }
  const { repo, issue } = ctx
  try {
    const marker = noticeMarker(entry.key)
    const posted =
      !fresh &&
      (await ctx.effects.findNotice({ repo, issue: issue.number, issueId: issue.id, marker }))
    if (!posted) {
      const status = issue.statusComment
      await ctx.effects.apply({
        repo,
        issue: issue.number,
        issueId: issue.id,
        comment: {
          id: null,
          body: noticeBody({
            mention,
            kind: entry.kind,
            reason: entry.reason,
            key: entry.key,
            statusUrl: status ? `${issue.url}#issuecomment-${status.databaseId}` : null
          })
        }
      })
    }
    return { channel: MENTION_CHANNEL, ok: true }
  } catch (error) {
    if (isRateLimited(error)) throw error
    return { channel: MENTION_CHANNEL, ok: false, error: errorMessage(error) }
  }
}

function notificationFor(
  ctx: RunContext,
  record: RunRecord,
  kind: DoorbellKind,
  reason: AnyReason,
  key: string
): Notification {
  const thread = currentThread(record)
  const endedAt = record.terminal?.at ?? ctx.now.toISOString()
  const detail = [REASON_TEXT[reason], record.terminal?.detail].filter(Boolean).join(' ')
  const sha = record.commit?.sha ?? null
  return {
    kind,
    key,
    repo: ctx.repo.fullName,
    issue: ctx.issue.number,
    title: ctx.issue.title,
    url: ctx.issue.url,
    reason,
    detail,
    attempts: record.fixForwardAttempts,
    maxAttempts: ctx.settings.policy.maxFixForwardAttempts,
    elapsedSeconds: secondsSince(record.claimedAt, new Date(endedAt)),
    threadId: thread?.id ?? null,
    threadUrl: thread?.url ?? null,
    commit: sha,
    commitUrl: sha ? ctx.issue.url.replace(/\/issues\/\d+$/, `/commit/${sha}`) : null,
    pullRequestUrl: record.commit?.pullRequestUrl ?? null,
    at: endedAt
  }
}

function skipRow(ctx: RunContext, note: string, record: RunRecord | null = null): RunRow {
  return {
    ...row(ctx, record, 'SKIP', 'none', null, null),
    note
  }
}

/** The report row for a run. */
export function row(
  ctx: Pick<RunContext, 'repo' | 'settings' | 'now'> & { issue: { number: number; url: string } },
  record: RunRecord | null,
  action: string,
  reason: string,
  ci: CIStatus | null,
  error: string | null,
  note: string | null = null
): RunRow {
  const thread = record ? currentThread(record) : null
  return {
    repo: ctx.repo.fullName,
    issue: ctx.issue.number,
    url: ctx.issue.url,
    action,
    reason,
    phase: record ? phaseOf(record, ci) : null,
    attempts: record?.fixForwardAttempts ?? 0,
    maxAttempts: ctx.settings.policy.maxFixForwardAttempts,
    elapsedSeconds: record
      ? secondsSince(record.claimedAt, record.terminal ? new Date(record.terminal.at) : ctx.now)
      : null,
    claimedAt: record?.claimedAt ?? null,
    threadId: thread?.id ?? null,
    threadUrl: thread?.url ?? null,
    commit: record?.commit?.sha ?? null,
    note,
    error
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function isRateLimited(error: unknown): boolean {
  return error instanceof Error && error.name === 'RateLimitedError'
}
