import { describe, expect, it } from '@jest/globals'
import { ciStatus, type RollupContext } from '../../src/github/ci.js'

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
