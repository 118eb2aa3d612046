/**
 * The evidence rules, table-driven (one row per line of docs/how-runs-end.md's
 * "Whose work counts, and who takes over") and by properties: a fork or an outsider
 * can never make or hide the run's work, nor take a run over; a baseline
 * commit is never the run's work; label names ignore case.
 */
import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import {
  BASELINE_LIMIT,
  claimBaseline,
  closure,
  detectTakeover,
  hasLabel,
  ignoredNote,
  ignoredPullRequests,
  isOwnPullRequest,
  mayHavePushed,
  runWork,
  sameLabel,
  workOutOfView,
  IGNORED_NOTE_LIMIT,
  takeoverPullRequest,
  TAKEOVER_RULES,
  type CloserEvidence,
  type IssueEvidence,
  type PullRequestEvidence,
  type RunEvidence,
  type TakeoverContext
} from '../../src/core/evidence.js'

const REPO = 'acme/widgets'
const CLAIMED = '2026-11-24T08:00:00.000Z'
const LABELS = {
  ready: 'ready-for-agent',
  inProgress: 'agent-in-progress',
  human: 'ready-for-human'
}
const TRUSTED = ['OWNER', 'MEMBER', 'COLLABORATOR']

const sha = (n: number) => n.toString(16).padStart(40, '0')

function pr(overrides: Partial<PullRequestEvidence> = {}): PullRequestEvidence {
  return {
    number: 101,
    url: `https://github.com/${REPO}/pull/101`,
    headRefName: 'afk/issue-7',
    headSha: sha(1),
    author: 'afk-agent',
    byViewer: false,
    state: 'OPEN',
    createdAt: '2026-11-24T09:00:00.000Z',
    isCrossRepository: false,
    headRepository: REPO,
    authorAssociation: 'NONE',
    ...overrides
  }
}

function issue(overrides: Partial<IssueEvidence> = {}): IssueEvidence {
  return {
    number: 7,
    state: 'OPEN',
    labels: [LABELS.inProgress],
    closedBy: null,
    labelEvents: [],
    pullRequests: [],
    trunkCommits: [],
    ...overrides
  }
}

const run = (overrides: Partial<RunEvidence> = {}): RunEvidence => ({
  repo: REPO,
  delivery: 'pull-request',
  claimedAt: CLAIMED,
  baseline: [],
  ...overrides
})

const ctx = (overrides: Partial<RunEvidence> = {}): TakeoverContext => ({
  run: run(overrides),
  labels: LABELS,
  trustedAssociations: TRUSTED
})

describe('isOwnPullRequest', () => {
  const rows: [string, Partial<PullRequestEvidence>, boolean][] = [
    ['same repository, the run’s branch', {}, true],
    ['same repository in another case', { headRepository: 'ACME/Widgets' }, true],
    [
      'a fork with the run’s branch name',
      { isCrossRepository: true, headRepository: 'mallory/widgets' },
      false
    ],
    ['a fork claiming the same repository name', { isCrossRepository: true }, false],
    ['its head repository is gone', { headRepository: null }, false],
    ['another branch, by someone else', { headRefName: 'fix-7' }, false],
    [
      'another branch, opened by the loop’s identity',
      { headRefName: 'loop-7', byViewer: true },
      true
    ],
    ['the loop’s identity, from a fork', { byViewer: true, isCrossRepository: true }, false],
    ['another issue’s run branch', { headRefName: 'afk/issue-77' }, false]
  ]
  it.each(rows)('%s → %s', (_name, overrides, own) => {
    expect(isOwnPullRequest(pr(overrides), { repo: REPO, issue: 7 })).toBe(own)
  })

  // A backend that names its own branch (Copilot's task artifacts): the agent's
  // report adds that branch, in the issue's own repository only.
  const agentBranch: [string, Partial<PullRequestEvidence>, boolean][] = [
    ['the branch the agent reports', { headRefName: 'copilot/fix-7' }, true],
    [
      'a fork with the branch the agent reports',
      { headRefName: 'copilot/fix-7', isCrossRepository: true, headRepository: 'mallory/widgets' },
      false
    ],
    ['a branch the agent doesn’t report', { headRefName: 'copilot/other' }, false]
  ]
  it.each(agentBranch)('with the agent’s branch: %s → %s', (_name, overrides, own) => {
    const run = { repo: REPO, issue: 7, branches: ['copilot/fix-7'] }
    expect(isOwnPullRequest(pr(overrides), run)).toBe(own)
    // Without the agent's report, none of these is the run's.
    expect(isOwnPullRequest(pr(overrides), { repo: REPO, issue: 7 })).toBe(false)
  })
})

describe('runWork: which commit is the run’s', () => {
  const newer = pr({ number: 102, headSha: sha(2), createdAt: '2026-11-24T10:00:00.000Z' })
  const rows: [string, IssueEvidence, RunEvidence, string | null][] = [
    ['nothing pushed', issue(), run(), null],
    ['the own open pull request', issue({ pullRequests: [pr()] }), run(), sha(1)],
    [
      'a merged own pull request (auto-merge)',
      issue({ pullRequests: [pr({ state: 'MERGED' })] }),
      run(),
      sha(1)
    ],
    [
      'a closed, unmerged one is abandoned',
      issue({ pullRequests: [pr({ state: 'CLOSED' })] }),
      run(),
      null
    ],
    [
      'its head was there at the claim',
      issue({ pullRequests: [pr()] }),
      run({ baseline: [sha(1)] }),
      null
    ],
    ['the newest of two', issue({ pullRequests: [pr(), newer] }), run(), sha(2)],
    [
      'a fork’s, named like the run’s branch, green',
      issue({ pullRequests: [pr({ isCrossRepository: true, headRepository: 'm/widgets' })] }),
      run(),
      null
    ],
    [
      'trunk: a commit since the claim',
      issue({ trunkCommits: [{ sha: sha(3), committedAt: '2026-11-24T09:00:00.000Z' }] }),
      run({ delivery: 'trunk' }),
      sha(3)
    ],
    [
      'trunk: a commit from before the claim',
      issue({ trunkCommits: [{ sha: sha(3), committedAt: '2026-11-24T07:00:00.000Z' }] }),
      run({ delivery: 'trunk' }),
      null
    ],
    [
      'trunk: the previous run’s commit',
      issue({ trunkCommits: [{ sha: sha(3), committedAt: CLAIMED }] }),
      run({ delivery: 'trunk', baseline: [sha(3)] }),
      null
    ],
    [
      'trunk ignores pull requests',
      issue({ pullRequests: [pr()] }),
      run({ delivery: 'trunk' }),
      null
    ]
  ]
  it.each(rows)('%s', (_name, facts, r, expected) => {
    expect(runWork(facts, r)?.sha ?? null).toBe(expected)
  })

  it('the baseline a claim records: own heads, newest first, and the previous commit, bounded', () => {
    const prs = Array.from({ length: 30 }, (_, i) =>
      pr({
        number: i,
        headSha: sha(100 + i),
        createdAt: new Date(Date.UTC(2026, 0, 1 + i)).toISOString()
      })
    )
    const fork = pr({ headSha: sha(999), isCrossRepository: true })
    const baseline = claimBaseline({ number: 7, pullRequests: [...prs, fork] }, REPO, sha(5))
    expect(baseline[0]).toBe(sha(5))
    expect(baseline[1]).toBe(sha(129))
    expect(baseline).toHaveLength(BASELINE_LIMIT)
    expect(baseline).not.toContain(sha(999))
    expect(claimBaseline({ number: 7, pullRequests: [pr()] }, REPO, sha(1))).toEqual([sha(1)])
  })
})

describe('closure: what closed the issue', () => {
  const byPr = (number: number): CloserEvidence => ({ kind: 'pull-request', number, url: '' })
  const byCommit = (s: string): CloserEvidence => ({ kind: 'commit', sha: s, url: '' })
  const closed = (closer: CloserEvidence | null, extra: Partial<IssueEvidence> = {}) =>
    issue({ state: 'CLOSED', closedBy: { login: 'someone', closer }, ...extra })
  const rows: [string, IssueEvidence, RunEvidence, string][] = [
    ['open', issue(), run(), 'open'],
    ['by hand', closed(null, { pullRequests: [pr()] }), run(), 'taken-over'],
    [
      'by the run’s merged pull request',
      closed(byPr(101), { pullRequests: [pr({ state: 'MERGED' })] }),
      run(),
      'delivered'
    ],
    [
      'by an earlier pull request of this run (merged red, then fixed in another)',
      closed(byPr(101), {
        pullRequests: [
          pr({ state: 'MERGED' }),
          pr({ number: 102, headSha: sha(2), createdAt: '2026-11-24T11:00:00.000Z' })
        ]
      }),
      run(),
      'delivered'
    ],
    [
      'by an older run’s pull request',
      closed(byPr(101), { pullRequests: [pr({ state: 'MERGED' })] }),
      run({ baseline: [sha(1)] }),
      'taken-over'
    ],
    [
      'by someone else’s pull request',
      closed(byPr(900), {
        pullRequests: [pr(), pr({ number: 900, headRefName: 'fix', headSha: sha(9) })]
      }),
      run(),
      'taken-over'
    ],
    [
      'by a fork’s pull request named like the run’s branch',
      closed(byPr(900), {
        pullRequests: [
          pr({ number: 900, isCrossRepository: true, headRepository: 'm/w', state: 'MERGED' })
        ]
      }),
      run(),
      'taken-over'
    ],
    [
      'by the run’s "Fixes #N" trunk commit',
      closed(byCommit(sha(3)), {
        trunkCommits: [{ sha: sha(3), committedAt: '2026-11-24T09:00:00.000Z' }]
      }),
      run({ delivery: 'trunk' }),
      'delivered'
    ],
    [
      'by an earlier commit of this run',
      closed(byCommit(sha(3)), {
        trunkCommits: [
          { sha: sha(4), committedAt: '2026-11-24T10:00:00.000Z' },
          { sha: sha(3), committedAt: '2026-11-24T09:00:00.000Z' }
        ]
      }),
      run({ delivery: 'trunk' }),
      'delivered'
    ],
    [
      'by a commit from before the claim',
      closed(byCommit(sha(3)), {
        trunkCommits: [{ sha: sha(3), committedAt: '2026-11-24T07:00:00.000Z' }]
      }),
      run({ delivery: 'trunk' }),
      'taken-over'
    ],
    [
      'by a baseline commit',
      closed(byCommit(sha(1)), { pullRequests: [pr()] }),
      run({ baseline: [sha(1)] }),
      'taken-over'
    ],
    [
      'by the pull request head’s commit',
      closed(byCommit(sha(1)), { pullRequests: [pr()] }),
      run(),
      'delivered'
    ],
    [
      'by a commit nobody pushed for this run',
      closed(byCommit(sha(8))),
      run({ delivery: 'trunk' }),
      'taken-over'
    ],
    [
      'by the squash commit of the run’s merged pull request (GitHub names the commit)',
      closed(byCommit(sha(7)), {
        pullRequests: [pr({ state: 'MERGED', mergeCommitSha: sha(7) })]
      }),
      run(),
      'delivered'
    ],
    [
      'by the squash commit of an older run’s pull request',
      closed(byCommit(sha(7)), {
        pullRequests: [pr({ state: 'MERGED', mergeCommitSha: sha(7) })]
      }),
      run({ baseline: [sha(1)] }),
      'taken-over'
    ],
    [
      'by the squash commit of a fork’s pull request named like the run’s branch',
      closed(byCommit(sha(7)), {
        pullRequests: [
          pr({
            number: 900,
            isCrossRepository: true,
            headRepository: 'm/w',
            state: 'MERGED',
            mergeCommitSha: sha(7)
          })
        ]
      }),
      run(),
      'taken-over'
    ]
  ]
  it.each(rows)('%s → %s', (_name, facts, r, expected) => {
    expect(closure(facts, r)).toBe(expected)
  })
})

describe('detectTakeover: the rule table', () => {
  const rows: [string, IssueEvidence, number | null, string | null][] = [
    ['nothing happened', issue(), null, null],
    [
      'closed by hand',
      issue({ state: 'CLOSED', closedBy: { login: 'ann', closer: null } }),
      1,
      '(by @ann)'
    ],
    [
      'closed by the run’s own merge: no takeover',
      issue({
        state: 'CLOSED',
        closedBy: { login: 'ann', closer: { kind: 'pull-request', number: 101, url: '' } },
        pullRequests: [pr({ state: 'MERGED' })]
      }),
      null,
      null
    ],
    [
      'the human label (any case)',
      issue({
        labels: [LABELS.inProgress, 'Ready-For-Human'],
        labelEvents: [{ label: 'READY-for-human', action: 'added', actor: 'bob', byViewer: false }]
      }),
      2,
      '(by @bob)'
    ],
    [
      'the in-progress label removed',
      issue({
        labels: [],
        labelEvents: [
          { label: LABELS.inProgress, action: 'removed', actor: 'afk-bot', byViewer: true },
          { label: LABELS.inProgress, action: 'removed', actor: 'cy', byViewer: false }
        ]
      }),
      3,
      '(by @cy)'
    ],
    [
      'the in-progress label in another case is still there',
      issue({ labels: ['Agent-In-Progress'] }),
      null,
      null
    ],
    [
      'a collaborator’s pull request',
      issue({
        pullRequests: [
          pr({
            number: 5,
            headRefName: 'fix',
            author: 'dee',
            authorAssociation: 'COLLABORATOR',
            url: 'u5'
          })
        ]
      }),
      4,
      '(u5 by @dee)'
    ],
    [
      'an outsider’s pull request: ignored',
      issue({ pullRequests: [pr({ number: 5, headRefName: 'fix', authorAssociation: 'NONE' })] }),
      null,
      null
    ],
    [
      'a trusted author’s fork named like the run’s branch',
      issue({
        pullRequests: [
          pr({
            isCrossRepository: true,
            headRepository: 'x/w',
            authorAssociation: 'MEMBER',
            author: 'eve',
            url: 'uf'
          })
        ]
      }),
      4,
      '(uf by @eve)'
    ],
    [
      'closing comes first',
      issue({
        state: 'CLOSED',
        closedBy: { login: null, closer: null },
        labels: [LABELS.human]
      }),
      1,
      null
    ]
  ]
  it.each(rows)('%s', (_name, facts, row, detail) => {
    const takeover = detectTakeover(facts, ctx())
    const reason = row === null ? null : (TAKEOVER_RULES.find((r) => r.row === row)?.reason ?? 'x')
    expect(takeover).toEqual(reason === null ? null : { reason, detail })
  })

  it('numbers its rows 1..n in order', () => {
    expect(TAKEOVER_RULES.map((r) => r.row)).toEqual(TAKEOVER_RULES.map((_r, i) => i + 1))
  })
})

describe('outsiders', () => {
  it('are listed for the summary, and never block a claim', () => {
    const outsider = pr({
      number: 9,
      headRefName: 'x',
      author: 'm',
      authorAssociation: 'NONE',
      isCrossRepository: true,
      headRepository: 'm/w'
    })
    const facts = { number: 7, pullRequests: [pr(), outsider] }
    const c = { run: { repo: REPO }, trustedAssociations: TRUSTED }
    expect(ignoredPullRequests(facts, c)).toEqual([outsider])
    expect(takeoverPullRequest(facts, c)).toBeNull()
    expect(ignoredNote([outsider])).toBe(
      'ignored pull request(s) #9 by @m (fork, NONE): author association not in trusted-associations'
    )
    expect(ignoredNote([])).toBeNull()
  })

  it('names the first ten for the summary and counts the rest', () => {
    const many = Array.from({ length: 250 }, (_, i) =>
      pr({
        number: 1000 + i,
        author: `drive-by-${i}`,
        isCrossRepository: true,
        headRepository: `drive-by-${i}/w`
      })
    )
    const note = ignoredNote(many) ?? ''
    expect(IGNORED_NOTE_LIMIT).toBe(10)
    expect(note.match(/#\d+ by @/g)).toHaveLength(10)
    expect(note).toContain('#1009 by @drive-by-9 (fork, NONE) and 240 more:')
    expect(note).not.toContain('#1010')
    expect(note.length).toBeLessThan(600)
    expect(ignoredNote(many.slice(0, 10))).not.toContain('more')
  })

  it('mayHavePushed: own pull requests or trunk commits, never a fork', () => {
    expect(mayHavePushed(issue(), REPO)).toBe(false)
    expect(mayHavePushed(issue({ pullRequests: [pr()] }), REPO)).toBe(true)
    expect(mayHavePushed(issue({ pullRequests: [pr({ isCrossRepository: true })] }), REPO)).toBe(
      false
    )
    expect(
      mayHavePushed(issue({ trunkCommits: [{ sha: sha(1), committedAt: CLAIMED }] }), REPO)
    ).toBe(true)
  })
})

// ------------------------------------------------------------ properties ---

const arbSha = fc.integer({ min: 0, max: 50 }).map(sha)
const arbTime = fc
  .integer({ min: Date.parse('2026-11-24T00:00:00Z'), max: Date.parse('2026-11-25T00:00:00Z') })
  .map((t) => new Date(t).toISOString())
const arbAssociation = fc.constantFrom(
  'OWNER',
  'MEMBER',
  'COLLABORATOR',
  'CONTRIBUTOR',
  'FIRST_TIME_CONTRIBUTOR',
  'NONE'
)
const arbPr = (fork: boolean) =>
  fc.record({
    number: fc.integer({ min: 1, max: 2000 }),
    url: fc.constant('u'),
    headRefName: fc.constantFrom('afk/issue-7', 'afk/issue-8', 'fix', 'main'),
    headSha: arbSha,
    author: fc.option(fc.string({ maxLength: 5 }), { nil: null }),
    byViewer: fork ? fc.boolean() : fc.boolean(),
    state: fc.constantFrom('OPEN' as const, 'CLOSED' as const, 'MERGED' as const),
    createdAt: arbTime,
    isCrossRepository: fc.constant(fork),
    headRepository: fork
      ? fc.constantFrom('mallory/widgets', REPO, null)
      : fc.constantFrom(REPO, 'ACME/WIDGETS'),
    authorAssociation: arbAssociation
  })
const arbIssue = fc.record({
  number: fc.constant(7),
  state: fc.constantFrom('OPEN' as const, 'CLOSED' as const),
  labels: fc.subarray([LABELS.inProgress, LABELS.human, 'bug']),
  closedBy: fc.option(
    fc.record({
      login: fc.option(fc.constantFrom('ann', 'bob'), { nil: null }),
      closer: fc.option(
        fc.oneof(
          fc.record({
            kind: fc.constant('pull-request' as const),
            number: fc.integer({ min: 1, max: 2000 }),
            url: fc.constant('')
          }),
          fc.record({ kind: fc.constant('commit' as const), sha: arbSha, url: fc.constant('') })
        ),
        { nil: null }
      )
    }),
    { nil: null }
  ),
  labelEvents: fc.constant([]),
  pullRequests: fc.array(arbPr(false), { maxLength: 4 }),
  trunkCommits: fc.array(fc.record({ sha: arbSha, committedAt: arbTime }), { maxLength: 4 })
})
const arbRun = fc.record({
  repo: fc.constant(REPO),
  delivery: fc.constantFrom('pull-request' as const, 'trunk' as const),
  claimedAt: arbTime,
  baseline: fc.array(arbSha, { maxLength: 4 })
})

describe('properties', () => {
  it('a fork’s pull request never changes the run’s work, what closed the issue, or (by an outsider) a takeover', () => {
    fc.assert(
      fc.property(
        arbIssue,
        arbRun,
        fc.array(arbPr(true), { minLength: 1, maxLength: 3 }),
        (facts, r, forks) => {
          const withForks = { ...facts, pullRequests: [...facts.pullRequests, ...forks] }
          expect(runWork(withForks, r)).toEqual(runWork(facts, r))
          // A fork closing the issue is never the run's delivery.
          const closedByFork = {
            ...withForks,
            state: 'CLOSED' as const,
            closedBy: {
              login: null,
              closer: { kind: 'pull-request' as const, number: 5000, url: '' }
            }
          }
          for (const f of forks) f.number = 5000
          expect(closure(closedByFork, r)).toBe('taken-over')
        }
      )
    )
  })

  it('outsiders’ pull requests never take a run over', () => {
    fc.assert(
      fc.property(
        arbIssue,
        arbRun,
        fc.array(fc.tuple(arbPr(true), arbPr(false)), { maxLength: 3 }),
        (facts, r, pairs) => {
          const outsiders = pairs
            .flat()
            .map((p) => ({ ...p, authorAssociation: 'NONE', headRefName: 'fix', byViewer: false }))
          const c = ctx(r)
          expect(
            detectTakeover({ ...facts, pullRequests: [...facts.pullRequests, ...outsiders] }, c)
          ).toEqual(detectTakeover(facts, c))
        }
      )
    )
  })

  it('a commit in the baseline is never the run’s work', () => {
    fc.assert(
      fc.property(arbIssue, arbRun, (facts, r) => {
        const work = runWork(facts, r)
        if (work) expect(r.baseline).not.toContain(work.sha)
      })
    )
  })

  it('the run’s work is always its own: same repository, never a fork', () => {
    fc.assert(
      fc.property(arbIssue, arbRun, fc.array(arbPr(true), { maxLength: 2 }), (facts, r, forks) => {
        const work = runWork({ ...facts, pullRequests: [...facts.pullRequests, ...forks] }, r)
        if (work?.kind === 'pull-request') {
          expect(isOwnPullRequest(work.pullRequest, { repo: REPO, issue: 7 })).toBe(true)
          expect(work.pullRequest.state).not.toBe('CLOSED')
        }
      })
    )
  })

  it('a closure by the run’s own work is never rule 1', () => {
    fc.assert(
      fc.property(arbIssue, arbRun, (facts, r) => {
        const takeover = detectTakeover(facts, ctx(r))
        if (closure(facts, r) !== 'taken-over')
          expect(takeover?.reason).not.toBe('issue-closed-by-human')
        else expect(takeover?.reason).toBe('issue-closed-by-human')
      })
    )
  })

  it('label names are one rule, without case', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 12 }),
        fc.array(fc.string({ maxLength: 12 }), { maxLength: 4 }),
        (name, others) => {
          expect(sameLabel(name, name.toUpperCase())).toBe(true)
          expect(hasLabel([...others, name.toUpperCase()], name.toLowerCase())).toBe(
            hasLabel([...others, name], name)
          )
        }
      )
    )
  })
})

describe('a closing list cut short (more pull requests than the adapter reads)', () => {
  const outsider = pr({
    number: 9,
    author: 'm',
    isCrossRepository: true,
    headRepository: 'm/w'
  })
  it('never reads "nothing pushed" from it: the work is out of view', () => {
    const cut = issue({ pullRequests: [outsider], pullRequestsComplete: false })
    expect(runWork(cut, run())).toBeNull()
    expect(workOutOfView(cut, run())).toBe(true)
  })
  it("is not out of view when the run's own was found, the list was whole, or delivery is trunk", () => {
    expect(
      workOutOfView(issue({ pullRequests: [outsider, pr()], pullRequestsComplete: false }), run())
    ).toBe(false)
    expect(workOutOfView(issue({ pullRequests: [outsider] }), run())).toBe(false)
    expect(
      workOutOfView(issue({ pullRequests: [outsider], pullRequestsComplete: true }), run())
    ).toBe(false)
    expect(
      workOutOfView(
        issue({ pullRequests: [outsider], pullRequestsComplete: false }),
        run({ delivery: 'trunk' })
      )
    ).toBe(false)
  })
  it("a baseline (old) own pull request found by its branch is still not this run's work", () => {
    const old = pr({ headSha: sha(5) })
    const cut = issue({ pullRequests: [old], pullRequestsComplete: false })
    expect(workOutOfView(cut, run({ baseline: [sha(5)] }))).toBe(true)
  })
})
