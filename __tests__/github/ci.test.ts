import { describe, expect, it } from '@jest/globals'
import { ciStatus, newestChecks, type RollupContext } from '../../src/github/ci.js'

const run = (name: string, status: string, conclusion: string | null = null): RollupContext => ({
  __typename: 'CheckRun',
  name,
  status,
  conclusion,
  detailsUrl: `https://ci/${name}`
})
const status = (context: string, state: string): RollupContext => ({
  __typename: 'StatusContext',
  context,
  state,
  targetUrl: `https://st/${context}`
})

describe('ciStatus', () => {
  it.each([
    ['nothing reported', [], [], 'missing'],
    ['one success', [run('test', 'COMPLETED', 'SUCCESS')], [], 'green'],
    [
      'success, neutral and skipped',
      [
        run('a', 'COMPLETED', 'SUCCESS'),
        run('b', 'COMPLETED', 'NEUTRAL'),
        run('c', 'COMPLETED', 'SKIPPED')
      ],
      [],
      'green'
    ],
    ['a status success', [status('ci/legacy', 'SUCCESS')], [], 'green'],
    ...['FAILURE', 'CANCELLED', 'TIMED_OUT', 'STARTUP_FAILURE'].map(
      (c) =>
        [
          `a check ${c}`,
          [run('a', 'COMPLETED', 'SUCCESS'), run('b', 'COMPLETED', c)],
          [],
          'red'
        ] as const
    ),
    ['a status failure', [status('x', 'FAILURE')], [], 'red'],
    ['a status error', [status('x', 'ERROR')], [], 'red'],
    ...['QUEUED', 'IN_PROGRESS', 'WAITING', 'PENDING', 'REQUESTED'].map(
      (s) =>
        [`a check ${s}`, [run('a', 'COMPLETED', 'SUCCESS'), run('b', s)], [], 'pending'] as const
    ),
    ['a status pending', [status('x', 'PENDING')], [], 'pending'],
    ['a status expected', [status('x', 'EXPECTED')], [], 'pending'],
    [
      'a completed check with an unknown conclusion',
      [run('a', 'COMPLETED', 'SOMETHING_NEW')],
      [],
      'pending'
    ],
    [
      'red and still running',
      [run('a', 'COMPLETED', 'FAILURE'), run('b', 'IN_PROGRESS')],
      [],
      'red'
    ],
    [
      'a suite waiting for approval',
      [],
      [
        {
          status: 'COMPLETED',
          conclusion: 'ACTION_REQUIRED',
          workflowRun: { url: 'https://run/1' }
        }
      ],
      'blocked'
    ],
    [
      'approval needed wins over red',
      [run('a', 'COMPLETED', 'FAILURE')],
      [{ status: 'COMPLETED', conclusion: 'ACTION_REQUIRED' }],
      'blocked'
    ],
    ['a check run needing action', [run('a', 'COMPLETED', 'ACTION_REQUIRED')], [], 'blocked'],
    [
      'suites alone (no approval) count for nothing',
      [],
      [{ status: 'COMPLETED', conclusion: 'SUCCESS' }],
      'missing'
    ]
  ] as const)('%s → %s', (_name, contexts, suites, expected) => {
    expect(ciStatus({ contexts: [...contexts], checkSuites: [...suites] }).status).toBe(expected)
  })

  it('ignores the checks named in ignore-checks, case-insensitively, and never calls nothing green', () => {
    const contexts = [run('lint', 'COMPLETED', 'FAILURE'), run('test', 'COMPLETED', 'SUCCESS')]
    expect(ciStatus({ contexts, checkSuites: [] }, ['LINT']).status).toBe('green')
    expect(ciStatus({ contexts, checkSuites: [] }, ['lint', 'test']).status).toBe('missing')
    expect(
      ciStatus(
        {
          contexts: [status('deploy', 'PENDING'), run('t', 'COMPLETED', 'SUCCESS')],
          checkSuites: []
        },
        ['deploy']
      ).status
    ).toBe('green')
  })

  it('links the check that decided', () => {
    expect(
      ciStatus({
        contexts: [run('a', 'COMPLETED', 'SUCCESS'), run('b', 'COMPLETED', 'FAILURE')],
        checkSuites: []
      }).url
    ).toBe('https://ci/b')
    expect(ciStatus({ contexts: [status('s', 'PENDING')], checkSuites: [] }).url).toBe(
      'https://st/s'
    )
  })
})

describe('newest run per check, complete lists', () => {
  const run = (
    name: string,
    conclusion: string,
    extra: Partial<{ databaseId: number; startedAt: string; app: number }> = {}
  ) => ({
    __typename: 'CheckRun' as const,
    name,
    status: 'COMPLETED',
    conclusion,
    databaseId: extra.databaseId ?? null,
    startedAt: extra.startedAt ?? null,
    checkSuite: { app: { databaseId: extra.app ?? 1 } }
  })

  it('a re-run that passed supersedes the failure, whatever the rollup order', () => {
    const failed = run('test', 'FAILURE', { databaseId: 1, startedAt: '2026-01-01T00:00:00Z' })
    const passed = run('test', 'SUCCESS', { databaseId: 2, startedAt: '2026-01-01T00:10:00Z' })
    expect(ciStatus({ contexts: [failed, passed], checkSuites: [] }).status).toBe('green')
    expect(ciStatus({ contexts: [passed, failed], checkSuites: [] }).status).toBe('green')
    expect(newestChecks([passed, failed])).toEqual([passed])
  })

  it('status contexts: the newest state of each context counts', () => {
    const status = (state: string, createdAt: string) => ({
      __typename: 'StatusContext' as const,
      context: 'ci/legacy',
      state,
      createdAt
    })
    expect(
      ciStatus({
        contexts: [
          status('FAILURE', '2026-01-01T00:00:00Z'),
          status('SUCCESS', '2026-01-01T01:00:00Z')
        ],
        checkSuites: []
      }).status
    ).toBe('green')
  })

  it('an incomplete list is never green (pending), but a failure seen is red', () => {
    const passed = run('a', 'SUCCESS')
    expect(ciStatus({ contexts: [passed], checkSuites: [], complete: false }).status).toBe(
      'pending'
    )
    expect(ciStatus({ contexts: [], checkSuites: [], complete: false }).status).toBe('pending')
    expect(
      ciStatus({ contexts: [passed, run('b', 'FAILURE')], checkSuites: [], complete: false }).status
    ).toBe('red')
  })
})
