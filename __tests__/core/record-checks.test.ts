/**
 * What a record may contain (issue 15, finding 3): whoever writes under the
 * loop's login without the state secret can only write a record that makes
 * sense for the issue it sits on. Each test is an attack that must fail.
 */
import { describe, expect, it } from '@jest/globals'
import type { RunRecord } from '../../src/core/bookkeeping.js'
import {
  CLOCK_SKEW_SECONDS,
  isRepositoryUrl,
  recordProblem,
  runKeyPrefix
} from '../../src/core/record-checks.js'
import { endRecord, newRecord, recordThread, trackCommit } from '../../src/loop/run-view.js'
import { repoRef } from '../../src/config.js'

const repo = repoRef('acme/widgets')
const ISSUE_URL = 'https://github.com/acme/widgets/issues/7'
const claimed = new Date('2026-11-25T01:00:00.000Z')
const now = new Date('2026-11-25T02:00:00.000Z')
const facts = { repo: 'acme/widgets', issue: 7, issueUrl: ISSUE_URL, now }

/** A record the loop itself would write: claimed, dispatched, pushed. */
function honest(): RunRecord {
  let r = newRecord(repo, 7, 'pull-request', claimed)
  r = recordThread(
    r,
    { threadId: '123456', url: 'https://github.com/acme/widgets/actions/runs/123456' },
    new Date(claimed.getTime() + 60_000)
  )
  r = trackCommit(
    r,
    {
      sha: 'a'.repeat(40),
      url: 'https://github.com/acme/widgets/commit/aaa',
      ci: { status: 'pending', url: null },
      pullRequestUrl: 'https://github.com/acme/widgets/pull/8'
    },
    new Date(claimed.getTime() + 120_000)
  )
  return r
}

describe('recordProblem', () => {
  it("trusts the records the loop writes, through a whole run's changes", () => {
    const r = honest()
    expect(recordProblem(r, facts)).toBeNull()
    const t3 = recordThread(
      newRecord(repo, 7, 'trunk', claimed),
      { threadId: `${newRecord(repo, 7, 'trunk', claimed).runKey}-a0`, url: null },
      claimed
    )
    expect(recordProblem(t3, facts)).toBeNull()
    const copilot = recordThread(
      newRecord(repo, 7, 'pull-request', claimed),
      {
        threadId: 'a1b2c3d4-e5f6-7890-abcd-ef1234567890',
        url: 'https://github.com/acme/widgets/copilot/tasks/a1b2c3d4-e5f6-7890-abcd-ef1234567890'
      },
      claimed
    )
    expect(recordProblem(copilot, facts)).toBeNull()
    expect(
      recordProblem(
        {
          ...copilot,
          threads: [{ ...copilot.threads[0]!, id: 'a1b2c3d4-e5f6-7890-abcd-ef12345678' }]
        },
        facts
      )
    ).toMatch(/nor a Copilot task id/)
    const ended = endRecord(
      r,
      {
        action: 'HAND_BACK',
        reason: 'emergency-stop',
        ci: null,
        detail: null,
        interrupt: '123456'
      },
      now
    )
    expect(recordProblem(ended, facts)).toBeNull()
    expect(
      recordProblem(r, { ...facts, labelledAt: new Date(claimed.getTime() + 2000).toISOString() })
    ).toBeNull()
    expect(
      newRecord(repo, 7, 'trunk', claimed).runKey.startsWith(runKeyPrefix('ACME/Widgets', 7))
    ).toBe(true)
  })

  const attacks: [string, (r: RunRecord) => RunRecord, RegExp][] = [
    [
      "names another issue's run key",
      (r) => ({ ...r, runKey: newRecord(repo, 8, 'trunk', claimed).runKey }),
      /run key .* is not one of this issue's/
    ],
    [
      "names another repository's run key",
      (r) => ({ ...r, runKey: newRecord(repoRef('acme/other'), 7, 'trunk', claimed).runKey }),
      /run key/
    ],
    ['adds a suffix to the run key', (r) => ({ ...r, runKey: `${r.runKey}-x` }), /run key/],
    [
      'names a thread that is not one of its dispatches (T3 thread of another run)',
      (r) => ({ ...r, threads: [{ ...r.threads[0]!, id: 'afk-00000000-9-abc-a0' }] }),
      /neither the run's own key, a workflow run id nor a Copilot task id/
    ],
    [
      'gives a thread a key of another run',
      (r) => ({ ...r, threads: [{ ...r.threads[0]!, key: 'afk-00000000-9-abc-a0' }] }),
      /doesn't derive from the run key/
    ],
    [
      'points a thread link at another site',
      (r) => ({
        ...r,
        threads: [{ ...r.threads[0]!, url: 'https://evil.example/acme/widgets/actions/runs/1' }]
      }),
      /links outside the repository/
    ],
    [
      'points a thread link at a look-alike repository',
      (r) => ({
        ...r,
        threads: [{ ...r.threads[0]!, url: 'https://github.com/acme/widgets-evil/actions/runs/1' }]
      }),
      /links outside/
    ],
    [
      'points the pull request link elsewhere',
      (r) => ({
        ...r,
        commit: { ...r.commit!, pullRequestUrl: 'https://github.com/attacker/fork/pull/1' }
      }),
      /pull request link/
    ],
    [
      'points the pull request link at a login page with user info',
      (r) => ({
        ...r,
        commit: { ...r.commit!, pullRequestUrl: 'https://user:pw@github.com/acme/widgets/pull/8' }
      }),
      /pull request link/
    ],
    [
      'names a commit that is not a commit id',
      (r) => ({ ...r, commit: { ...r.commit!, sha: 'main; rm -rf /' } }),
      /not a commit id/
    ],
    [
      'asks to interrupt a thread that is not its own',
      (r) => ({
        ...r,
        terminal: {
          action: 'HAND_BACK',
          reason: 'emergency-stop',
          at: now.toISOString(),
          ci: null,
          detail: null,
          interrupt: '999999'
        }
      }),
      /not one of the run's threads/
    ],
    [
      "rings a doorbell under another run's key",
      (r) => ({
        ...r,
        outbox: [
          {
            key: 'afk-00000000-9-abc-done',
            kind: 'done',
            reason: 'ci-green',
            createdAt: now.toISOString(),
            tries: 0,
            nextTryAt: now.toISOString(),
            pending: ['webhook'],
            delivered: [],
            abandonedAt: null,
            lastError: null
          }
        ]
      }),
      /notification's key/
    ],
    [
      'moves the claim into the future',
      (r) => ({
        ...r,
        claimedAt: new Date(now.getTime() + (CLOCK_SKEW_SECONDS + 60) * 1000).toISOString()
      }),
      /claimed in the future/
    ],
    [
      'moves the claim after its own dispatches (lifting the deadlines)',
      (r) => ({ ...r, claimedAt: new Date(claimed.getTime() + 600_000).toISOString() }),
      /dated before the claim/
    ],
    [
      'dates a dispatch in the future',
      (r) => ({ ...r, threads: [{ ...r.threads[0]!, dispatchedAt: '2030-01-01T00:00:00.000Z' }] }),
      /in the future/
    ],
    [
      'reorders its threads',
      (r) => ({
        ...r,
        fixForwardAttempts: 1,
        threads: [
          { ...r.threads[0]!, dispatchedAt: new Date(claimed.getTime() + 500_000).toISOString() },
          { ...r.threads[0]!, key: `${r.runKey}-a1`, attempt: 1, id: '123457' }
        ]
      }),
      /not in the order/
    ],
    [
      'claims a thread beyond its attempts',
      (r) => ({ ...r, threads: [{ ...r.threads[0]!, key: `${r.runKey}-a2`, attempt: 2 }] }),
      /beyond the record's 0/
    ]
  ]
  it.each(attacks)('refuses a record that %s', (_name, tamper, problem) => {
    expect(recordProblem(tamper(honest()), facts)).toMatch(problem)
  })

  it('refuses a claim time later than GitHub saw the loop label the issue (all timestamps moved together)', () => {
    const shift = (iso: string) => new Date(Date.parse(iso) + 3_600_000 / 2).toISOString()
    const r = honest()
    const moved: RunRecord = {
      ...r,
      claimedAt: shift(r.claimedAt),
      threads: r.threads.map((t) => ({ ...t, dispatchedAt: shift(t.dispatchedAt) })),
      commit: r.commit && { ...r.commit, firstSeenAt: shift(r.commit.firstSeenAt) }
    }
    expect(recordProblem(moved, facts)).toBeNull() // self-consistent …
    const labelledAt = new Date(claimed.getTime() + 1000).toISOString()
    expect(recordProblem(moved, { ...facts, labelledAt })).toMatch(/after the loop labelled it/) // … but GitHub remembers
  })

  it('accepts URLs only under the repository on its own host', () => {
    expect(isRepositoryUrl('https://github.com/acme/widgets/pull/8', ISSUE_URL)).toBe(true)
    expect(isRepositoryUrl('https://GITHUB.com/ACME/widgets/actions/runs/1', ISSUE_URL)).toBe(true)
    for (const url of [
      'https://github.com/acme/widgets',
      'http://github.com/acme/widgets/pull/8',
      'https://github.com.evil.example/acme/widgets/pull/8',
      'https://github.com/acme/widgets/../other/pull/8',
      'javascript:alert(1)',
      'not a url'
    ]) {
      expect({ url, ok: isRepositoryUrl(url, ISSUE_URL) }).toEqual({ url, ok: false })
    }
    expect(
      isRepositoryUrl(
        'https://ghe.example/acme/widgets/pull/8',
        'https://ghe.example/acme/widgets/issues/7'
      )
    ).toBe(true)
  })
})
