/**
 * Evidence: what GitHub's facts mean for one run. Three questions, each a
 * small set of rules a reader can check against docs/how-runs-end.md ("Whose
 * work counts") and DESIGN.md ("Trust"):
 *
 * 1. **Which commit is the run's work?** Only what a writer could push, after
 *    the current claim:
 *    - a pull request is the run's own when its head is in the issue's own
 *      repository on the run's branch (`afk/issue-N`), or when the loop's own
 *      identity opened it from that repository. A fork's pull request never
 *      is, whatever its branch is called: anyone can open one.
 *    - of the run's own pull requests (open or merged), the newest whose head
 *      is not in the run's *baseline*: the heads that already existed when the
 *      issue was claimed (read at the claim, with the previous run's commit).
 *      A re-queued issue's old, green pull request is not the new run's work.
 *    - trunk delivery: the newest default-branch commit that references the
 *      issue, committed at or after the claim, and not in the baseline.
 *    Why a baseline for pull requests and a date for trunk: a pull request's
 *    facts carry no push time (its `createdAt` is when it was opened, and a
 *    commit's date is whatever the committer's clock said), while the set of
 *    heads at the claim is known exactly, for free, from the claim's own read.
 *    Trunk history is not read for candidates, so trunk keeps the date cut (the
 *    claim is written before the agent is dispatched, so the agent's commits
 *    come after it) and drops the previous run's commit by the baseline too.
 *
 * 2. **What closed the issue?** GitHub's `ClosedEvent.closer`: the run's own
 *    pull request or commit carrying the run's work is a *delivery* (auto-merge,
 *    a quick review, "Fixes #N" on push), decided on that commit's CI like any
 *    other push. Anything else — closed by hand, by someone else's pull
 *    request, by an older run's work — is a human taking over.
 *
 * 3. **Did a human take over?** {@link TAKEOVER_RULES}, first match wins.
 *    Labelling and closing need triage rights on GitHub, so they are trusted
 *    acts. A pull request can be opened by anyone: it takes over only when its
 *    author's association is in `trusted-associations`; others are reported
 *    and ignored.
 *
 * Pure: no I/O, no clock. Inputs are structural (the loop's ports satisfy
 * them), so `core` imports nothing outside itself.
 */
import { BASELINE_MAX, TEXT_LIMITS } from './bookkeeping.js'
import { runBranch } from './prompts.js'
import type { AnyReason, Delivery } from './types.js'

/** The facts of a pull request evidence reads. */
export interface PullRequestEvidence {
  number: number
  url: string
  headRefName: string
  headSha: string
  author: string | null
  /** Opened by the loop's own identity. */
  byViewer: boolean
  state: 'OPEN' | 'CLOSED' | 'MERGED'
  createdAt: string
  isCrossRepository: boolean
  /** `owner/name`, null when the head repository is gone. */
  headRepository: string | null
  authorAssociation: string
  /** The commit its merge made on the base branch (a squash merge's can close the issue). */
  mergeCommitSha?: string | null
}

/** A default-branch commit that references the issue. */
export interface CommitEvidence {
  sha: string
  committedAt: string
}

/** What closed the issue (GitHub's `ClosedEvent.closer`). */
export type CloserEvidence =
  | { kind: 'pull-request'; number: number; url: string }
  | { kind: 'commit'; sha: string; url: string }

/** The issue's facts evidence reads. */
export interface IssueEvidence<
  P extends PullRequestEvidence = PullRequestEvidence,
  C extends CommitEvidence = CommitEvidence
> {
  number: number
  state: 'OPEN' | 'CLOSED'
  labels: readonly string[]
  closedBy: { login: string | null; closer: CloserEvidence | null } | null
  labelEvents: readonly {
    label: string
    action: 'added' | 'removed'
    actor: string | null
    byViewer: boolean
  }[]
  pullRequests: readonly P[]
  /**
   * False when the issue's closing pull requests could not all be read (more
   * than the adapter pages through: outsiders can open any number). The
   * run's own are looked up by their branch besides, but "nothing pushed" is
   * never concluded from a list that was cut. Absent: complete.
   */
  pullRequestsComplete?: boolean
  trunkCommits: readonly C[]
}

/** What evidence knows of the run: from its record. */
export interface RunEvidence {
  /** `owner/name` of the issue's repository. */
  repo: string
  delivery: Delivery
  claimedAt: string
  /** Commits that already existed at the claim: never this run's work. */
  baseline: readonly string[]
  /**
   * Branches the agent itself reports working on for this run, besides
   * `afk/issue-N` (a backend that names its own branch: Copilot's task
   * artifacts). Read fresh from the agent each tick, never from a comment.
   */
  branches?: readonly string[]
}

/** Labels the loop is configured with. */
export interface LoopLabels {
  ready: string
  inProgress: string
  human: string
}

// ------------------------------------------------------------- labels ---

/** GitHub's rule for label names: case doesn't matter. One rule, used everywhere. */
export function sameLabel(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase()
}

/** Whether a label set carries a label, GitHub's way (case-insensitive). */
export function hasLabel(labels: readonly string[], name: string): boolean {
  return labels.some((l) => sameLabel(l, name))
}

// -------------------------------------------------------- the run's work ---

const sameRepo = (a: string | null, b: string): boolean =>
  a !== null && a.toLowerCase() === b.toLowerCase()

/**
 * Whether a pull request is the run's own: its head in the issue's own
 * repository, and on the run's branch or opened by the loop's identity. Only
 * someone with write access can push a branch to the repository itself.
 */
export function isOwnPullRequest(
  pr: PullRequestEvidence,
  run: { repo: string; issue: number; branches?: readonly string[] | undefined }
): boolean {
  if (pr.isCrossRepository) return false
  if (!sameRepo(pr.headRepository, run.repo)) return false
  return (
    pr.headRefName === runBranch(run.issue) ||
    (run.branches ?? []).includes(pr.headRefName) ||
    pr.byViewer
  )
}

const newestFirst = <T>(items: readonly T[], at: (t: T) => string): T[] =>
  [...items].sort((a, b) => Date.parse(at(b)) - Date.parse(at(a)))

/** The commit that carries the run's work, with where it came from. */
export type Work<P, C> =
  { kind: 'pull-request'; sha: string; pullRequest: P } | { kind: 'commit'; sha: string; commit: C }

/**
 * The run's work: the newest own pull request (open or merged) whose head was
 * pushed after the claim, or, for trunk delivery, the newest default-branch
 * commit since the claim. Null: nothing of this run's is pushed yet.
 */
export function runWork<P extends PullRequestEvidence, C extends CommitEvidence>(
  issue: IssueEvidence<P, C>,
  run: RunEvidence
): Work<P, C> | null {
  const before = new Set(run.baseline)
  if (run.delivery === 'trunk') {
    const claimed = Date.parse(run.claimedAt)
    const commit = newestFirst(
      issue.trunkCommits.filter((c) => Date.parse(c.committedAt) >= claimed && !before.has(c.sha)),
      (c) => c.committedAt
    )[0]
    return commit ? { kind: 'commit', sha: commit.sha, commit } : null
  }
  const pr = newestFirst(
    issue.pullRequests.filter(
      (p) =>
        p.state !== 'CLOSED' &&
        isOwnPullRequest(p, { repo: run.repo, issue: issue.number, branches: run.branches }) &&
        !before.has(p.headSha)
    ),
    (p) => p.createdAt
  )[0]
  return pr ? { kind: 'pull-request', sha: pr.headSha, pullRequest: pr } : null
}

/**
 * Whether the run's work may be out of view: nothing of the run's was found,
 * and the closing pull requests were cut short, so an own pull request on a
 * branch nobody looked up by name (one the loop's identity opened; one the
 * agent names, when the watcher's look-up of that branch failed) may be
 * among the unread. "Nothing pushed" must not
 * be concluded from that: the run waits (its runtime deadline still holds)
 * instead of being handed back as idle without a push.
 */
export function workOutOfView<P extends PullRequestEvidence, C extends CommitEvidence>(
  issue: IssueEvidence<P, C>,
  run: RunEvidence
): boolean {
  return (
    run.delivery !== 'trunk' && issue.pullRequestsComplete === false && runWork(issue, run) === null
  )
}

/** How many commits a baseline keeps at most (the previous run's, then the newest heads). */
export const BASELINE_LIMIT = BASELINE_MAX

/**
 * The baseline a new claim records: the heads of the issue's own pull
 * requests as read at the claim, and the previous run's commit. Every commit
 * in it existed before this run began.
 */
export function claimBaseline(
  issue: { number: number; pullRequests: readonly PullRequestEvidence[] },
  repo: string,
  previousCommit: string | null
): string[] {
  const heads = newestFirst(
    issue.pullRequests.filter((p) => isOwnPullRequest(p, { repo, issue: issue.number })),
    (p) => p.createdAt
  ).map((p) => p.headSha)
  const all = [...(previousCommit ? [previousCommit] : []), ...heads]
  // A commit id is at most 64 characters (SHA-256); anything longer isn't one.
  return [...new Set(all)].filter((s) => s.length <= TEXT_LIMITS.sha).slice(0, BASELINE_LIMIT)
}

// ---------------------------------------------------- what closed it ---

/** Why the issue is closed, if it is: the run delivered, or a human took over. */
export type Closure = 'open' | 'delivered' | 'taken-over'

/**
 * Whether the issue was closed by the run's own work: the closer names one of
 * this run's pull requests (an own pull request, open or merged, whose head
 * was pushed after the claim — after a red merge the agent may open another)
 * or one of this run's commits (the work's commit, a default-branch commit
 * since the claim, or the merge or squash commit of one of this run's own
 * merged pull requests: GitHub reads a squash merge's closing keywords from
 * the squash commit and names that commit as the closer).
 */
export function closure<P extends PullRequestEvidence, C extends CommitEvidence>(
  issue: IssueEvidence<P, C>,
  run: RunEvidence
): Closure {
  if (issue.state === 'OPEN') return 'open'
  const closer = issue.closedBy?.closer ?? null
  if (!closer) return 'taken-over'
  const before = new Set(run.baseline)
  if (closer.kind === 'pull-request') {
    const ours = issue.pullRequests.some(
      (p) =>
        p.number === closer.number &&
        p.state !== 'CLOSED' &&
        isOwnPullRequest(p, { repo: run.repo, issue: issue.number, branches: run.branches }) &&
        !before.has(p.headSha)
    )
    return ours ? 'delivered' : 'taken-over'
  }
  if (before.has(closer.sha)) return 'taken-over'
  const merged = issue.pullRequests.some(
    (p) =>
      p.state === 'MERGED' &&
      p.mergeCommitSha === closer.sha &&
      isOwnPullRequest(p, { repo: run.repo, issue: issue.number, branches: run.branches }) &&
      !before.has(p.headSha)
  )
  if (merged) return 'delivered'
  if (runWork(issue, run)?.sha === closer.sha) return 'delivered'
  const claimed = Date.parse(run.claimedAt)
  const ours = issue.trunkCommits.some(
    (c) => c.sha === closer.sha && Date.parse(c.committedAt) >= claimed
  )
  return ours ? 'delivered' : 'taken-over'
}

// ------------------------------------------------------------ takeover ---

/** A human took over the run: what they did, in the loop's words. */
export interface Takeover {
  reason: AnyReason
  detail: string | null
}

/** What the takeover rules read, besides the issue. */
export interface TakeoverContext {
  run: RunEvidence
  labels: LoopLabels
  /** Author associations whose pull requests count as a human taking over. */
  trustedAssociations: readonly string[]
}

interface TakeoverRule {
  /** The row's number, for tests and docs/how-runs-end.md. */
  row: number
  reason: AnyReason
  /** The detail when the rule holds, or undefined when it doesn't. */
  when: (issue: IssueEvidence, ctx: TakeoverContext) => string | null | undefined
}

const by = (login: string | null | undefined): string | null => (login ? `(by @${login})` : null)

const lastHumanEvent = (issue: IssueEvidence, label: string, action: 'added' | 'removed') =>
  [...issue.labelEvents]
    .reverse()
    .find((e) => sameLabel(e.label, label) && e.action === action && !e.byViewer)

/**
 * The takeover table: the first rule that holds says what the human did.
 * Rule 1 lets a delivery through: the run's own work closing the issue is the
 * run succeeding, not a human stepping in.
 */
export const TAKEOVER_RULES: readonly TakeoverRule[] = [
  {
    row: 1,
    reason: 'issue-closed-by-human',
    when: (issue, ctx) =>
      closure(issue, ctx.run) === 'taken-over' ? by(issue.closedBy?.login) : undefined
  },
  {
    row: 2,
    reason: 'human-label-added',
    when: (issue, ctx) =>
      hasLabel(issue.labels, ctx.labels.human)
        ? by(lastHumanEvent(issue, ctx.labels.human, 'added')?.actor)
        : undefined
  },
  {
    row: 3,
    reason: 'in-progress-label-removed',
    when: (issue, ctx) =>
      hasLabel(issue.labels, ctx.labels.inProgress)
        ? undefined
        : by(lastHumanEvent(issue, ctx.labels.inProgress, 'removed')?.actor)
  },
  {
    row: 4,
    reason: 'pull-request-by-someone-else',
    when: (issue, ctx) => {
      const pr = takeoverPullRequest(issue, ctx)
      return pr ? `(${pr.url}${pr.author ? ` by @${pr.author}` : ''})` : undefined
    }
  }
]

/** Did a human take over? The first rule of {@link TAKEOVER_RULES} that holds, or null. */
export function detectTakeover(issue: IssueEvidence, ctx: TakeoverContext): Takeover | null {
  for (const rule of TAKEOVER_RULES) {
    const detail = rule.when(issue, ctx)
    if (detail !== undefined) return { reason: rule.reason, detail }
  }
  return null
}

/** An open pull request that isn't the run's own. */
function foreignOpen<P extends PullRequestEvidence>(
  pullRequests: readonly P[],
  run: { repo: string; issue: number; branches?: readonly string[] | undefined }
): P[] {
  return pullRequests.filter((p) => p.state === 'OPEN' && !isOwnPullRequest(p, run))
}

/**
 * A pull request that takes the issue over: open, not the run's own, by an
 * author the project trusts. Used for in-flight runs and for candidates alike.
 */
export function takeoverPullRequest<P extends PullRequestEvidence>(
  issue: { number: number; pullRequests: readonly P[] },
  ctx: {
    run: { repo: string; branches?: readonly string[] | undefined }
    trustedAssociations: readonly string[]
  }
): P | null {
  return (
    foreignOpen(issue.pullRequests, {
      repo: ctx.run.repo,
      issue: issue.number,
      branches: ctx.run.branches
    }).find((p) => ctx.trustedAssociations.includes(p.authorAssociation)) ?? null
  )
}

/**
 * Open pull requests by outsiders (author association not trusted): they take
 * nothing over and block no claim; the job summary notes them.
 */
export function ignoredPullRequests<P extends PullRequestEvidence>(
  issue: { number: number; pullRequests: readonly P[] },
  ctx: {
    run: { repo: string; branches?: readonly string[] | undefined }
    trustedAssociations: readonly string[]
  }
): P[] {
  return foreignOpen(issue.pullRequests, {
    repo: ctx.run.repo,
    issue: issue.number,
    branches: ctx.run.branches
  }).filter((p) => !ctx.trustedAssociations.includes(p.authorAssociation))
}

/** How many ignored pull requests the summary names; the rest are counted. */
export const IGNORED_NOTE_LIMIT = 10

/**
 * One line for the summary about ignored outsiders' pull requests: the first
 * {@link IGNORED_NOTE_LIMIT} by name, then how many more (anyone can open
 * hundreds, and the line lands in every tick's summary).
 */
export function ignoredNote(prs: readonly PullRequestEvidence[]): string | null {
  if (prs.length === 0) return null
  const more = prs.length - IGNORED_NOTE_LIMIT
  const list = prs
    .slice(0, IGNORED_NOTE_LIMIT)
    .map(
      (p) =>
        `#${p.number}${p.author ? ` by @${p.author}` : ''} (${p.isCrossRepository ? 'fork, ' : ''}${p.authorAssociation})`
    )
    .join(', ')
  return `ignored pull request(s) ${list}${more > 0 ? ` and ${more} more` : ''}: author association not in trusted-associations`
}

/**
 * Whether work may be in place for a run whose record can't be trusted (no
 * claim time, no baseline): any own pull request open or merged, or any
 * default-branch commit referencing the issue. Used only to choose between the
 * `needs-human` and `frozen` doorbells; errs toward "pushed" (frozen tells a
 * human to look at the work).
 */
export function mayHavePushed(
  issue: Pick<IssueEvidence, 'number' | 'pullRequests' | 'trunkCommits'>,
  repo: string
): boolean {
  return (
    issue.trunkCommits.length > 0 ||
    issue.pullRequests.some(
      (p) => p.state !== 'CLOSED' && isOwnPullRequest(p, { repo, issue: issue.number })
    )
  )
}
