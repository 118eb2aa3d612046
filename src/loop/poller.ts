/**
 * The poller starts new runs (only in `mode: on`), oldest candidates first,
 * within the concurrency caps.
 *
 * A claim is three steps, each safe to die after:
 *   1. one write: the status comment carrying the dispatch intent (a fresh
 *      key) and the claim time, then the label swap (add in-progress, remove
 *      ready), in that order in one request;
 *   2. the dispatch, under the intent's key;
 *   3. one write: the thread id recorded, the intent cleared.
 * Dying after 1 leaves a candidate that already carries the loop's intent
 * comment (or a half-swapped label set): the next tick resumes it with the
 * same comment and key. Dying after 2 leaves an in-progress issue whose
 * intent the watcher reconciles by looking the key up before dispatching.
 *
 * Skipped, and reported: authors whose association isn't trusted, issues a
 * trusted author's pull request already closes (an outsider's is noted and
 * ignored: anyone can open one), issues the watcher touched this tick.
 *
 * A claim records its baseline — the heads the issue's own pull requests
 * already had, and the previous run's commit — so old work never lands the
 * new run; and it removes a leftover human label, saying so: a person who
 * queues the issue again has decided.
 *
 * The global cap counts a repository that couldn't be read this tick as
 * holding `max-concurrent-per-repo` runs (capped by `max-concurrent`): the
 * most the loop would ever have claimed there. Claims go only into slots
 * provably free; a repository that stays unreadable costs its share, not
 * every claim.
 */
import { decode, type RunRecord } from '../core/bookkeeping.js'
import {
  claimBaseline,
  hasLabel,
  ignoredNote,
  ignoredPullRequests,
  takeoverPullRequest
} from '../core/evidence.js'
import type { AuthorAssociation, RepoRef } from '../config.js'
import type { Effects } from './effects.js'
import type { CandidateIssue, RepoWorld } from './ports.js'
import type { RunRow } from './report.js'
import { failDispatch, newRecord, recordMatches, recordThread } from './run-view.js'
import { firstTurnPrompt } from '../core/prompts.js'
import { recordProblem } from '../core/record-checks.js'
import { PermanentDispatchError } from './ports.js'
import { CommentWriter, errorMessage, row, sealFor, type LoopSettings } from './watcher.js'

export interface PollerLimits {
  maxConcurrent: number
  maxConcurrentPerRepo: number
  trustedAssociations: AuthorAssociation[]
  /** At most this many claims this tick (what GitHub's points left can pay for); none = no limit. */
  maxClaims?: number
}

export interface PollerInput {
  settings: LoopSettings
  limits: PollerLimits
  repos: RepoWorld[]
  /** Runs in flight after the watcher's pass, in total and per repository key. */
  inFlight: { total: number; perRepo: Map<string, number> }
  /** `repoKey#N` of issues the watcher touched this tick. */
  touched: Set<string>
  now: Date
  effects: Effects
  warn: (message: string) => void
}

/** Claim and dispatch candidates up to the caps. Returns a row per candidate looked at. */
export async function pollCandidates(input: PollerInput): Promise<RunRow[]> {
  const { limits } = input
  const rows: RunRow[] = []
  const queue = input.repos
    .filter((w) => w.error === null)
    .flatMap((w) => w.candidates.map((c) => ({ world: w, candidate: c })))
    .sort(
      (a, b) =>
        Date.parse(a.candidate.createdAt) - Date.parse(b.candidate.createdAt) ||
        a.candidate.number - b.candidate.number
    )
  // Runs in a repository that couldn't be read still hold their slots.
  const unreadable = input.repos.filter((w) => w.error !== null).length
  const reserved = unreadable * Math.min(limits.maxConcurrentPerRepo, limits.maxConcurrent)
  let total = input.inFlight.total + reserved
  let claimed = 0
  const perRepo = new Map(input.inFlight.perRepo)

  for (const { world, candidate } of queue) {
    const repo = world.repo
    const skip = (note: string): void => {
      rows.push(candidateRow(input, repo, candidate, 'SKIP', note))
    }
    if (input.touched.has(`${repo.key}#${candidate.number}`)) {
      skip('the watcher acted on this issue this tick; next tick')
      continue
    }
    if (!limits.trustedAssociations.includes(candidate.authorAssociation)) {
      skip(`author association ${candidate.authorAssociation} is not in trusted-associations`)
      continue
    }
    const evidence = {
      run: { repo: repo.fullName },
      trustedAssociations: limits.trustedAssociations
    }
    const taken = takeoverPullRequest(candidate, evidence)
    if (taken) {
      skip(`a pull request by someone else closes it (${taken.url})`)
      continue
    }
    if (total >= limits.maxConcurrent) {
      skip(
        `waiting: max-concurrent (${limits.maxConcurrent}) runs in flight` +
          (reserved > 0
            ? `, counting ${reserved} slot(s) for ${unreadable} repository(ies) that couldn't be read`
            : '')
      )
      continue
    }
    if (limits.maxClaims !== undefined && claimed >= limits.maxClaims) {
      skip(`waiting: GitHub's points left this tick pay for ${limits.maxClaims} claim(s)`)
      continue
    }
    if ((perRepo.get(repo.key) ?? 0) >= limits.maxConcurrentPerRepo) {
      skip(`waiting: max-concurrent-per-repo (${limits.maxConcurrentPerRepo}) runs in flight`)
      continue
    }
    if (input.effects.agentUnavailable) {
      skip(`not claimed: the agent can't be used this tick (${input.effects.agentUnavailable})`)
      continue
    }
    for (const forged of candidate.forgedComments) {
      input.warn(
        `${repo.fullName}#${candidate.number}: ignored a comment by @${forged.author ?? 'unknown'} that looks like afk-loop's status comment (${forged.url}).`
      )
    }
    const ignored = ignoredNote(ignoredPullRequests(candidate, evidence))
    try {
      const claimed = await claim(input, world, candidate)
      rows.push(
        ignored ? { ...claimed, note: [claimed.note, ignored].filter(Boolean).join('; ') } : claimed
      )
    } catch (error) {
      rows.push({
        ...candidateRow(input, repo, candidate, 'CLAIM', null),
        error: errorMessage(error)
      })
      if (input.effects.writesStopped) break
    }
    // A claim that failed part-way still holds (or may hold) the slot.
    total++
    claimed++
    perRepo.set(repo.key, (perRepo.get(repo.key) ?? 0) + 1)
  }
  return rows
}

/** Resume the loop's own unfinished claim, or start a new one. */
function startingRecord(
  input: PollerInput,
  repo: RepoRef,
  candidate: CandidateIssue
): { record: RunRecord; resumed: boolean } {
  const comment = candidate.statusComment
  const seal = sealFor(input.settings, repo, candidate)
  const decoded = comment && !comment.editedByOther ? decode(comment.body, seal) : null
  // An earlier record is carried over (its history, or a claim to resume)
  // only if the loop can trust it; otherwise the claim starts afresh.
  const previous =
    decoded?.kind === 'ok' &&
    recordMatches(decoded.record, repo, candidate.number) &&
    recordProblem(decoded.record, {
      repo: repo.key,
      issue: candidate.number,
      issueUrl: candidate.url,
      now: input.now
    }) === null
      ? decoded.record
      : null
  const unfinished =
    previous &&
    previous.terminal === null &&
    previous.threads.length === 0 &&
    previous.intent?.attempt === 0
  if (previous && unfinished) return { record: previous, resumed: true }
  const human = input.settings.labels.human
  return {
    record: newRecord(repo, candidate.number, input.settings.delivery, input.now, previous, {
      baseline: claimBaseline(candidate, repo.fullName, previous?.commit?.sha ?? null),
      ...(hasLabel(candidate.labels, human)
        ? {
            detail: `removed the leftover \`${human}\` label: queuing the issue again gives it to the agent`
          }
        : {})
    }),
    resumed: false
  }
}

async function claim(
  input: PollerInput,
  world: RepoWorld,
  candidate: CandidateIssue
): Promise<RunRow> {
  const { settings, effects, now } = input
  const repo = world.repo
  const { record: start, resumed } = startingRecord(input, repo, candidate)
  const intent = start.intent
  if (!intent) throw new Error('a claim needs a dispatch intent')
  const ctx = { settings, repo, effects, issue: { ...candidate } }
  const writer = new CommentWriter(ctx, candidate.statusComment, null)

  // 1. intent + claim time, then the label swap (a leftover human label goes too): one request.
  await writer.save(start, null, {
    add: [settings.labels.inProgress],
    remove: [
      settings.labels.ready,
      ...(hasLabel(candidate.labels, settings.labels.human) ? [settings.labels.human] : [])
    ]
  })

  // 2. dispatch under the intent's key.
  let record = start
  let error: string | null = null
  try {
    const thread = await effects.dispatch({
      repo,
      issue: candidate.number,
      title: candidate.title,
      attempt: 0,
      key: intent.key,
      prompt: firstTurnPrompt(
        {
          repo: repo.fullName,
          issue: candidate.number,
          title: candidate.title,
          body: candidate.body,
          url: candidate.url,
          delivery: start.delivery,
          defaultBranch: world.defaultBranch
        },
        settings.templates.first
      )
    })
    record = recordThread(record, thread, now)
  } catch (failure) {
    if (failure instanceof Error && failure.name === 'RateLimitedError') throw failure
    error = errorMessage(failure)
    if (failure instanceof PermanentDispatchError) {
      input.warn(`${repo.fullName}#${candidate.number}: the agent can't be started: ${error}`)
    }
    record = failDispatch(record, failure)
  }

  // 3. the result.
  await writer.save(record, null)
  const rowCtx = { repo, issue: candidate, settings, now }
  return {
    ...row(rowCtx, record, 'CLAIM', 'claimed', null, error),
    note: resumed ? 'resumed an unfinished claim' : null
  }
}

function candidateRow(
  input: PollerInput,
  repo: RepoRef,
  candidate: CandidateIssue,
  action: string,
  note: string | null
): RunRow {
  return {
    ...row(
      { repo, issue: candidate, settings: input.settings, now: input.now },
      null,
      action,
      'none',
      null,
      null
    ),
    note
  }
}
