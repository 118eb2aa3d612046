/**
 * The committed bundle, run as a runner runs it, against a loopback server
 * that stands in for GitHub and T3 and counts every request. When the loop is
 * off or its inputs are wrong, it must not make a single request.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createServer, type Server } from 'node:http'
import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { BUNDLE, runAction } from '../sandbox/action-process.js'
import { HOW_TO_TURN_ON } from '../src/config.js'

let server: Server
let url = ''
const requests: string[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`)
    res.writeHead(500).end('no request was expected')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

/** Point every client the action could build at the counting server. */
function env(): Record<string, string> {
  return { GITHUB_API_URL: url, GITHUB_GRAPHQL_URL: `${url}/graphql`, GITHUB_SERVER_URL: url }
}

describe('the bundle', () => {
  it('exists (run `npm run bundle`)', () => {
    expect(existsSync(BUNDLE)).toBe(true)
  })

  it.each([
    ['no inputs at all', {}],
    [
      'mode on with an empty allowlist',
      { mode: 'on', repos: '', 't3-url': '', 'github-token': 'ghs_x' }
    ]
  ])(
    'with %s: says the loop is off and how to turn it on, succeeds, makes no request',
    async (_name, inputs) => {
      requests.length = 0
      const run = await runAction(inputs, env())
      expect(run.code).toBe(0)
      expect(run.stdout).toContain('afk-loop is off')
      expect(run.stdout).toContain(HOW_TO_TURN_ON.slice(0, 60))
      expect(run.outputs.runs).toBe('[]')
      expect(run.outputs.summary).toBe('afk-loop is off')
      expect(run.summary).toContain('afk-loop is off')
      expect(requests).toEqual([])
    }
  )

  it.each([
    ['mode', { mode: 'yes' }],
    ['max-runtime', { 'max-runtime': 'forever' }],
    ['repos', { repos: 'not a repo' }],
    ['t3-url', { 't3-url': '' }]
  ])('fails naming %s when it is invalid, with no request', async (input, override) => {
    requests.length = 0
    const secret = 'ghs_DO_NOT_PRINT_1234'
    const run = await runAction(
      {
        mode: 'on',
        repos: 'acme/widgets',
        'github-token': secret,
        't3-url': url,
        't3-token': 't3_DO_NOT_PRINT',
        ...override
      },
      env()
    )
    expect(run.code).toBe(1)
    expect(run.stdout).toContain(`::error::`)
    expect(run.stdout).toContain(`Input '${input}'`)
    // The only place a secret may appear is the runner's mask command itself.
    expect(run.stdout).toContain(`::add-mask::${secret}`)
    const printed = (run.stdout + run.stderr).replace(/^::add-mask::.*$/gm, '')
    expect(printed).not.toContain(secret)
    expect(printed).not.toContain('t3_DO_NOT_PRINT')
    expect(requests).toEqual([])
  })
})
