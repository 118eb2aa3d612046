/**
 * The action's flow with the toolkit mocked and the loop's in-memory fakes as
 * adapters: inputs → one tick → outputs, job summary, log groups; and the
 * step fails only when it must.
 */
import { beforeEach, describe, expect, it, jest } from '@jest/globals'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeWorld } from '../__fixtures__/loop-world.js'
import { PermissionError, RateLimitedError } from '../src/loop/ports.js'

const inputs: Record<string, string> = {}
const outputs: Record<string, string> = {}
const summaryParts: string[] = []
const groups: string[] = []
const failed: string[] = []
const infos: string[] = []
const debugs: string[] = []
const errors: string[] = []

const core = {
  getInput: jest.fn((name: string) => inputs[name] ?? ''),
  setSecret: jest.fn(),
  setOutput: jest.fn((name: string, value: string) => {
    outputs[name] = value
  }),
  setFailed: jest.fn((message: string) => {
    failed.push(message)
  }),
  info: jest.fn((message: string) => {
    infos.push(message)
  }),
  warning: jest.fn(),
  error: jest.fn((message: string) => {
    errors.push(message)
  }),
  debug: jest.fn((message: string) => {
    debugs.push(message)
  }),
  group: jest.fn(async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    groups.push(name)
    return fn()
  }),
  summary: {
    addHeading: jest.fn(function (this: unknown, text: string) {
      summaryParts.push(text)
      return core.summary
    }),
    addRaw: jest.fn((text: string) => {
      summaryParts.push(text)
      return core.summary
    }),
    write: jest.fn(async () => core.summary)
  }
}
jest.unstable_mockModule('@actions/core', () => core)
const { run } = await import('../src/main.js')

beforeEach(() => {
  for (const record of [inputs, outputs]) for (const k of Object.keys(record)) delete record[k]
  for (const list of [summaryParts, groups, failed, infos, debugs, errors]) list.length = 0
  const dir = mkdtempSync(join(tmpdir(), 'afk-main-'))
  process.env.GITHUB_STEP_SUMMARY = join(dir, 'summary')
  writeFileSync(process.env.GITHUB_STEP_SUMMARY, '')
  jest.clearAllMocks()
})

function turnOn(extra: Record<string, string> = {}): void {
  Object.assign(inputs, {
    mode: 'on',
    repos: 'octo/app, octo/lib',
    'github-token': 'ghs_x',
    't3-url': 'https://t3.example.com',
    't3-token': 't3_x',
    ...extra
  })
}

describe('run', () => {
  it('runs one tick and reports it: runs output, summary line, job summary, a log group per repo', async () => {
    turnOn()
    const world = makeWorld()
    world.addRepo('octo/lib')
    world.addIssue('octo/app', 1, { script: [['run', 'run']] })
    const factory = jest.fn(() => world.ports())
    await run(factory)
    expect(failed).toEqual([])
    expect(factory).toHaveBeenCalledTimes(1)
    const runs = JSON.parse(outputs.runs ?? 'null') as {
      repo: string
      issue: number
      action: string
    }[]
    expect(runs).toEqual([
      expect.objectContaining({
        repo: 'octo/app',
        issue: 1,
        action: 'CLAIM',
        reason: 'claimed',
        attempts: 0
      })
    ])
    expect(outputs.summary).toMatch(/^afk-loop \(on\): 1 claimed/)
    expect(summaryParts.join('\n')).toContain(
      '| [octo/app#1](https://github.com/octo/app/issues/1) |'
    )
    expect([...groups].sort()).toEqual(['octo/app', 'octo/lib'])
    expect(infos.some((l) => l.startsWith('octo/app#1: CLAIM (claimed)'))).toBe(true)
  })

  it('prints the plan and writes nothing in a dry run', async () => {
    turnOn({ 'dry-run': 'true' })
    const world = makeWorld()
    world.addIssue('octo/app', 1, { script: [['run']] })
    await run(() => world.ports())
    expect(failed).toEqual([])
    expect(world.counts.writes).toBe(0)
    expect(infos.some((l) => l.startsWith('dry run: would'))).toBe(true)
    expect(outputs.summary).toContain('dry run')
  })

  it('fails the step when the world cannot be read at all', async () => {
    turnOn()
    const world = makeWorld()
    world.github.readWorld = () => Promise.reject(new Error('GitHub is down'))
    await run(() => world.ports())
    expect(failed).toEqual([expect.stringContaining('GitHub is down')])
  })

  it('with mode off, a pathological template (the once-cubic `{{` + spaces) returns at once and makes no request', async () => {
    turnOn({ mode: 'off', 'prompt-template': `{{${' '.repeat(200_000)}`, 'max-runtime': 'forever' })
    const factory = jest.fn(() => makeWorld().ports())
    await run(factory)
    expect(factory).not.toHaveBeenCalled()
    expect(failed).toEqual([])
    expect(outputs.summary).toBe('afk-loop is off')
  })

  it('never builds adapters when the loop is off or the inputs are invalid', async () => {
    const factory = jest.fn(() => makeWorld().ports())
    await run(factory)
    expect(outputs).toEqual({
      runs: '[]',
      summary: 'afk-loop is off',
      claimed: '0',
      'in-flight': '0',
      landed: '0',
      'handed-back': '0',
      errors: '0'
    })
    expect(readFileSync(process.env.GITHUB_STEP_SUMMARY ?? '', 'utf8')).toBe('')
    expect(summaryParts.join()).toContain('afk-loop is off')
    turnOn({ 'max-runtime': 'forever' })
    await run(factory)
    expect(failed).toEqual([expect.stringContaining("Input 'max-runtime'")])
    expect(factory).not.toHaveBeenCalled()
  })

  it('sets the scalar outputs for if: conditions and traces each decision with core.debug', async () => {
    turnOn()
    const world = makeWorld()
    world.addIssue('octo/app', 1, { script: [['run', 'run']] })
    world.addIssue('octo/lib', 2, { script: [['run', 'run']] })
    await run(() => world.ports())
    expect(failed).toEqual([])
    expect(outputs.claimed).toBe('2')
    expect(outputs['in-flight']).toBe('0')
    expect(outputs.errors).toBe('0')
    await run(() => world.ports())
    expect(outputs.claimed).toBe('0')
    expect(outputs['in-flight']).toBe('2')
    expect(debugs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^decision octo\/app#1: action=WAIT reason=agent-working phase=working attempts=0\/3/
        ),
        expect.stringMatching(/^octo\/app: read 1 tracked issue\(s\), 0 candidate\(s\)/)
      ])
    )
  })

  it('fails the step, naming the permission, when GitHub refuses writes for lack of it', async () => {
    turnOn()
    const world = makeWorld()
    world.addIssue('octo/app', 1, { script: [['run']] })
    world.addIssue('octo/app', 2, { script: [['run']] })
    world.addRepo('octo/lib')
    world.github.apply = () =>
      Promise.reject(
        new PermissionError(
          'GitHub refused to let the token change octo/app#1 (HTTP 403: Resource not accessible by integration): it needs issues: write.',
          'issues: write',
          403
        )
      )
    await run(() => world.ports())
    expect(failed).toEqual([
      expect.stringMatching(/^afk-loop can't write: the token lacks issues: write\./)
    ])
    expect(failed[0]).toContain('octo/app: GitHub refused')
    expect(Number(outputs.errors)).toBeGreaterThanOrEqual(2)
    expect(summaryParts.join('\n')).toContain('Missing permission in octo/app: `issues: write`')
  })

  it('does not fail the step for a rate limit or a transient fault', async () => {
    turnOn()
    const world = makeWorld()
    world.addIssue('octo/app', 1, { script: [['run']] })
    world.addIssue('octo/app', 2, { script: [['run']] })
    let calls = 0
    world.github.apply = () =>
      Promise.reject(
        ++calls === 1 ? new Error('HTTP 502 Bad Gateway') : new RateLimitedError('spent', null)
      )
    await run(() => world.ports())
    expect(failed).toEqual([])
    expect(Number(outputs.errors)).toBeGreaterThan(0)
  })

  it('mode check: runs the checks instead of a tick, reports each line, fails on a failed check', async () => {
    turnOn({ mode: 'check' })
    const world = makeWorld()
    const makeAdapters = jest.fn(() => world.ports())
    const probed: string[] = []
    const deps = {
      probe: async (repo: { fullName: string }) => {
        probed.push(repo.fullName)
        return {
          repo: repo.fullName,
          unreachable: repo.fullName === 'octo/lib' ? 'not found' : null,
          viewer: 'afk-loop[bot]',
          refusedReads: [],
          labels: [],
          writes: []
        }
      },
      schedule: async () => null,
      agent: world.agent,
      notifier: world.notifier,
      clock: world.clock
    }
    await run(makeAdapters, () => deps)
    expect(makeAdapters).not.toHaveBeenCalled()
    expect(probed).toEqual(['octo/app', 'octo/lib'])
    expect(errors).toEqual([
      expect.stringMatching(/^FAIL octo\/lib: reach: the token can't read it \(not found\)/)
    ])
    expect(infos).toContain(
      'SKIP agent: this agent backend has no read-only check yet; its first dispatch will tell.'
    )
    expect(failed).toEqual([expect.stringMatching(/^afk-loop check: 1 check\(s\) failed/)])
    expect(outputs.errors).toBe('1')
    expect(outputs.runs).toBe('[]')
    expect(outputs.summary).toMatch(/^afk-loop \(check\): \d+ passed, 1 failed/)
    expect(summaryParts.join('\n')).toContain('| ❌ fail | octo/lib: reach |')
    expect(world.counts.writes).toBe(0)
  })
})
