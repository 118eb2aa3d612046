/**
 * `.env.example` is what `npm run local-action` reads once copied to `.env`:
 * every input it sets must be one of action.yml's, its URLs must be the ports
 * `npm run sandbox` serves, and the bundle given exactly those values (with
 * the ports swapped for this test's sandbox) must run a tick.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { INPUT_DEFAULTS } from '../src/config.js'
import { runAction } from '../sandbox/action-process.js'
import { startWorld, type World } from '../sandbox/scenario.js'

jest.setTimeout(60_000)

const lines = readFileSync('.env.example', 'utf8')
  .split('\n')
  .filter((l) => l.trim() && !l.startsWith('#'))
const entries = lines.map((l) => {
  const match = /^([A-Za-z_][\w.-]*)=(.*)$/.exec(l)
  if (!match) throw new Error(`.env.example: not KEY=value: ${l}`)
  return [match[1] ?? '', match[2] ?? ''] as const
})
const inputs = Object.fromEntries(
  entries.filter(([k]) => k.startsWith('INPUT_')).map(([k, v]) => [k.slice(6).toLowerCase(), v])
)
const env = Object.fromEntries(entries.filter(([k]) => !k.startsWith('INPUT_')))
const sandboxScript = readFileSync('scripts/sandbox.ts', 'utf8')

describe('.env.example', () => {
  let world: World
  beforeAll(async () => {
    world = await startWorld({ repos: ['acme/widgets'] })
  })
  afterAll(() => world.close())

  it('sets only inputs action.yml has', () => {
    expect(Object.keys(inputs).length).toBeGreaterThan(5)
    for (const name of Object.keys(inputs)) expect(Object.keys(INPUT_DEFAULTS)).toContain(name)
  })

  it('points at the ports npm run sandbox serves', () => {
    const ports = /PORTS = \{ github: (\d+), t3: (\d+), doorbell: (\d+) \}/.exec(sandboxScript)
    expect(ports).not.toBeNull()
    const [, github, t3, doorbell] = ports ?? []
    expect(env.GITHUB_API_URL).toBe(`http://127.0.0.1:${github}`)
    expect(env.GITHUB_GRAPHQL_URL).toBe(`http://127.0.0.1:${github}/graphql`)
    expect(inputs['t3-url']).toBe(`http://127.0.0.1:${t3}`)
    expect(inputs['notify-webhook-url']).toBe(`http://127.0.0.1:${doorbell}/doorbell`)
  })

  it('runs a tick of the bundle that claims the sandbox issue', async () => {
    const n = world.addIssue('acme/widgets', 'An issue', [['run', 'stall']])
    const port = (url: string) => new URL(url).port
    const swap = (value: string) =>
      value
        .replace(/127\.0\.0\.1:4010/g, `127.0.0.1:${port(world.github.url)}`)
        .replace(/127\.0\.0\.1:4011/g, `127.0.0.1:${port(world.t3.url)}`)
        .replace(/127\.0\.0\.1:4012/g, `127.0.0.1:${port(world.hookUrl)}`)
    const run = await runAction(
      Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, swap(v)])),
      Object.fromEntries(Object.entries(env).map(([k, v]) => [k, swap(v)]))
    )
    expect(run.code).toBe(0)
    expect(JSON.parse(run.outputs.runs ?? '[]')).toEqual([
      expect.objectContaining({ issue: n, action: 'CLAIM' })
    ])
    expect(world.store.issue('acme/widgets', n).labels).toEqual(['agent-in-progress', 'afk-loop'])
  })
})
