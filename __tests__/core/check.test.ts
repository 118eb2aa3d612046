/**
 * What `mode: check`'s findings mean: one line per check, a failure says
 * what to do, a check that can't be made is skipped (never passed).
 */
import { describe, expect, it } from '@jest/globals'
import {
  checkCounts,
  checkLines,
  checkLogLine,
  checkMarkdown,
  checkSummaryLine,
  isSharedActionsIdentity,
  type CheckInput,
  type RepoFacts
} from '../../src/core/check.js'
import { agentWorkflowProblems } from '../../src/agents/workflow-file.js'

const NOW = new Date('2026-11-26T00:00:00Z')
const DAY = 86_400_000

function repo(overrides: Partial<RepoFacts> = {}): RepoFacts {
  return {
    repo: 'acme/api',
    unreachable: null,
    viewer: 'afk-loop[bot]',
    refusedReads: [],
    labels: [
      { name: 'ready-for-agent', exists: true },
      { name: 'agent-in-progress', exists: true },
      { name: 'ready-for-human', exists: true }
    ],
    writes: [{ permission: 'issues: write', allowed: true, detail: 'the token may.' }],
    ...overrides
  }
}

function input(overrides: Partial<CheckInput> = {}): CheckInput {
  return {
    now: NOW,
    repos: [repo()],
    neededReads: ['issues: read', 'pull-requests: read'],
    agent: {
      backend: 'T3 Code server at https://t3.example.com',
      reach: { ok: true, detail: 'reachable.' },
      repos: [{ repo: 'acme/api', ok: true, detail: 'project p1.' }]
    },
    schedule: { repo: 'acme/api', isPrivate: true, pushedAt: null },
    ...overrides
  }
}

const statusOf = (lines: ReturnType<typeof checkLines>, subject: string) =>
  lines.find((l) => l.subject === subject)?.status

describe('checkLines', () => {
  it('passes a working setup, line by line', () => {
    const lines = checkLines(input())
    expect(lines.map((l) => `${l.status} ${l.subject}`)).toEqual([
      'pass acme/api: reach',
      'pass acme/api: issues: read',
      'pass acme/api: pull-requests: read',
      'pass acme/api: issues: write',
      'pass acme/api: labels',
      'pass identity',
      'pass agent: T3 Code server at https://t3.example.com',
      'pass acme/api: agent',
      'pass schedule (acme/api)'
    ])
    expect(checkCounts(lines)).toEqual({ pass: 9, fail: 0, warn: 0, skip: 0 })
  })

  it('fails an unreachable repository with the fix, and checks nothing else there', () => {
    const lines = checkLines(
      input({ repos: [repo({ unreachable: 'not found', viewer: null })], agent: null })
    )
    expect(lines[0]).toEqual({
      status: 'fail',
      subject: 'acme/api: reach',
      detail: expect.stringContaining('GitHub App token installed on acme/api')
    })
    expect(lines.filter((l) => l.subject.startsWith('acme/api'))).toHaveLength(1)
    expect(statusOf(lines, 'identity')).toBe('skip')
  })

  it('fails a refused read and a refused write, naming the permission to grant', () => {
    const lines = checkLines(
      input({
        repos: [
          repo({
            refusedReads: [{ permission: 'pull-requests: read', error: 'GitHub refused.' }],
            writes: [
              { permission: 'issues: write', allowed: false, detail: 'GitHub refused (HTTP 403).' },
              { permission: 'actions: write', allowed: null, detail: 'could not tell.' }
            ]
          })
        ]
      })
    )
    expect(lines.find((l) => l.subject === 'acme/api: pull-requests: read')).toMatchObject({
      status: 'fail',
      detail: 'GitHub refused. Grant `pull-requests: read`.'
    })
    expect(lines.find((l) => l.subject === 'acme/api: issues: write')?.detail).toContain(
      'Grant `issues: write`.'
    )
    expect(statusOf(lines, 'acme/api: actions: write')).toBe('skip')
  })

  it('passes missing labels the token may create, fails those it may not', () => {
    const missing = [
      { name: 'ready-for-agent', exists: false },
      { name: 'agent-in-progress', exists: true },
      { name: 'ready-for-human', exists: true }
    ]
    const may = checkLines(input({ repos: [repo({ labels: missing })] }))
    expect(may.find((l) => l.subject === 'acme/api: labels')).toMatchObject({
      status: 'pass',
      detail: expect.stringContaining('the first `mode: on` tick creates it')
    })
    const mayNot = checkLines(
      input({
        repos: [
          repo({
            labels: missing,
            writes: [{ permission: 'issues: write', allowed: false, detail: 'refused.' }]
          })
        ]
      })
    )
    expect(mayNot.find((l) => l.subject === 'acme/api: labels')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('create it by hand, or grant `issues: write`')
    })
  })

  it('warns when the loop acts as the shared github-actions identity', () => {
    for (const login of ['github-actions[bot]', 'github-actions', 'GitHub-Actions[bot]'])
      expect(isSharedActionsIdentity(login)).toBe(true)
    expect(isSharedActionsIdentity('github-actions-helper[bot]')).toBe(false)
    const lines = checkLines(input({ repos: [repo({ viewer: 'github-actions[bot]' })] }))
    expect(statusOf(lines, 'identity')).toBe('warn')
  })

  it('fails an agent backend that is down, and each repository it cannot serve', () => {
    const lines = checkLines(
      input({
        agent: {
          backend: 'T3',
          reach: { ok: true, detail: 'ok' },
          repos: [{ repo: 'acme/api', ok: false, detail: 'no project.' }]
        }
      })
    )
    expect(statusOf(lines, 'acme/api: agent')).toBe('fail')
    const down = checkLines(
      input({ agent: { backend: 'T3', reach: { ok: false, detail: 'unreachable.' }, repos: [] } })
    )
    expect(statusOf(down, 'agent: T3')).toBe('fail')
  })

  it("weighs the schedule's 60-day risk by visibility and the last push", () => {
    const at = (daysAgo: number) => new Date(NOW.getTime() - daysAgo * DAY).toISOString()
    const line = (schedule: CheckInput['schedule']) =>
      checkLines(input({ schedule })).find((l) => l.subject.startsWith('schedule'))
    expect(line({ repo: 'acme/api', isPrivate: false, pushedAt: at(10) })).toMatchObject({
      status: 'pass',
      detail: expect.stringContaining('about 50 day(s) left')
    })
    expect(line({ repo: 'acme/api', isPrivate: false, pushedAt: at(50) })?.status).toBe('warn')
    expect(line({ repo: 'acme/api', isPrivate: false, pushedAt: at(70) })).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('may already be disabled')
    })
    expect(line({ repo: 'acme/api', isPrivate: false, pushedAt: null })?.status).toBe('pass')
    expect(line({ error: 'HTTP 404' })).toMatchObject({ status: 'skip' })
    expect(line(null)).toMatchObject({ status: 'skip' })
  })
})

describe('rendering', () => {
  it('is a table in the job summary, a line per check in the log, and a count', () => {
    const lines = checkLines(
      input({ repos: [repo({ unreachable: 'a | b', viewer: null })], agent: null })
    )
    expect(checkSummaryLine(lines)).toBe(
      'afk-loop (check): 1 passed, 1 failed, 0 warning(s), 1 skipped; nothing was written'
    )
    const md = checkMarkdown(lines)
    expect(md).toContain("| ❌ fail | acme/api: reach | the token can't read it (a \\| b).")
    expect(md).toContain('| ➖ skip | identity |')
    expect(checkLogLine(lines[0] ?? { status: 'pass', subject: '', detail: '' })).toMatch(
      /^FAIL acme\/api: reach: /
    )
  })
})

describe('agentWorkflowProblems', () => {
  const good = `name: a
run-name: afk \${{ inputs.run_key }}
on:
  workflow_dispatch:
    inputs:
      issue: { required: true }
      prompt: { required: true }
      run_key: { required: true }
jobs: {}
`
  it('accepts the example and the github.event.inputs spelling', () => {
    expect(agentWorkflowProblems(good)).toEqual([])
    expect(
      agentWorkflowProblems(good.replace('inputs.run_key', ' github.event.inputs.run_key '))
    ).toEqual([])
  })

  it('names each missing input, a wrong run-name, a missing trigger, bad YAML', () => {
    expect(agentWorkflowProblems(good.replace(/ {6}prompt.*\n/, ''))).toEqual([
      'its workflow_dispatch lacks the input `prompt`'
    ])
    expect(agentWorkflowProblems(good.replace(/^run-name.*\n/m, ''))).toEqual([
      expect.stringContaining('its run-name is missing')
    ])
    expect(agentWorkflowProblems(good.replace('afk ${{', 'agent ${{'))[0]).toContain(
      'its run-name is `agent ${{ inputs.run_key }}`'
    )
    expect(agentWorkflowProblems('on: push\nrun-name: afk ${{ inputs.run_key }}\n')).toEqual([
      'it has no `on: workflow_dispatch` trigger'
    ])
    expect(
      agentWorkflowProblems('on: [workflow_dispatch]\nrun-name: afk ${{ inputs.run_key }}\n')
    ).toEqual(['its workflow_dispatch lacks the inputs `issue`, `prompt`, `run_key`'])
    expect(agentWorkflowProblems('on: [unclosed')[0]).toMatch(/^it is not valid YAML/)
    expect(agentWorkflowProblems('just text')).toEqual([
      'it is not a workflow (no mapping at the top)'
    ])
  })
})

describe('the dashboard lines (dashboard: true)', () => {
  const URL = 'https://github.com/acme/api/issues/7'
  const label = (exists: boolean) => ({ name: 'afk-loop-dashboard', exists })
  const issue = (over: { labelled?: boolean; closed?: boolean } = {}) => ({
    number: 7,
    url: URL,
    labelled: true,
    closed: false,
    ...over
  })
  const mayWrite = (allowed: boolean | null) => [
    { permission: 'issues: write', allowed, detail: '' }
  ]
  const dashboardLines = (facts: Partial<RepoFacts>) =>
    checkLines(input({ repos: [repo(facts)] }))
      .filter((l) => l.subject.startsWith('acme/api: dashboard'))
      .map((l) => `${l.status} ${l.subject}: ${l.detail}`)

  it('says nothing of a dashboard unless asked', () => {
    expect(dashboardLines({})).toEqual([])
  })

  it('passes a dashboard that exists, with its URL, and its label', () => {
    expect(dashboardLines({ dashboard: { label: label(true), issue: issue() } })).toEqual([
      `pass acme/api: dashboard: #7 (${URL}); each tick rewrites it only when its text changes (the token may).`,
      'pass acme/api: dashboard label: `afk-loop-dashboard` exists.'
    ])
  })

  it('passes one that would be created, with its label, when the token may create issues', () => {
    expect(dashboardLines({ dashboard: { label: label(false), issue: null } })).toEqual([
      'pass acme/api: dashboard: none yet: the first tick with `dashboard: true` opens it (the token may).',
      'pass acme/api: dashboard label: `afk-loop-dashboard` missing; created with the dashboard (the token may).'
    ])
  })

  it('fails both without issues: write, naming it', () => {
    const lines = dashboardLines({
      writes: mayWrite(false),
      dashboard: { label: label(false), issue: null }
    })
    expect(lines).toEqual([
      'fail acme/api: dashboard: none yet; the first tick would open it, and the token may not: grant `issues: write`.',
      'fail acme/api: dashboard label: `afk-loop-dashboard` missing, and the token may not create labels: create it by hand, or grant `issues: write`.'
    ])
    expect(
      dashboardLines({ writes: mayWrite(false), dashboard: { label: label(true), issue: issue() } })
    ).toEqual([
      `fail acme/api: dashboard: #7 (${URL}) exists, but the ticks would have to rewrite it, and the token may not: grant \`issues: write\`.`,
      'pass acme/api: dashboard label: `afk-loop-dashboard` exists.'
    ])
  })

  it('says what the next tick does to one found without its label, or closed', () => {
    expect(
      dashboardLines({
        dashboard: { label: label(true), issue: issue({ labelled: false, closed: true }) }
      })[0]
    ).toBe(
      `pass acme/api: dashboard: #7 (${URL}), closed and without its label \`afk-loop-dashboard\` (opened by an earlier release): the next tick labels it and reopens it (the token may).`
    )
  })

  it('skips what it cannot tell, never passing it', () => {
    expect(
      dashboardLines({ writes: mayWrite(null), dashboard: { label: label(false), issue: null } })
    ).toEqual([
      'skip acme/api: dashboard: none yet: the first tick with `dashboard: true` opens it, but whether the token may could not be told.',
      'skip acme/api: dashboard label: `afk-loop-dashboard` missing; whether the token may create it is unknown.'
    ])
    expect(dashboardLines({ dashboard: { error: 'Resource not accessible' } })).toEqual([
      'skip acme/api: dashboard: the dashboard could not be looked for: Resource not accessible'
    ])
  })
})
