/**
 * The example workflows grant least privilege (issue 15, finding 8): third-party
 * actions pinned by full commit SHA with the tag in a comment, App tokens
 * scoped to the repository and to the permissions the job needs, no
 * `actions: write` for the T3 backend, and a separate App for the agent.
 */
import { describe, expect, it } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'

interface Step {
  id?: string
  if?: string
  uses?: string
  with?: Record<string, string>
}
interface Workflow {
  permissions?: Record<string, string> | string
  jobs: Record<string, { permissions?: Record<string, string>; steps: Step[] }>
}

const dir = 'examples'
const files = readdirSync(dir).filter((f) => f.endsWith('.yml'))
const text = (file: string) => readFileSync(join(dir, file), 'utf8')
const workflow = (file: string) => parse(text(file)) as Workflow
const steps = (file: string) => Object.values(workflow(file).jobs).flatMap((j) => j.steps)
const appTokens = (file: string) =>
  steps(file).filter((s) => s.uses?.startsWith('actions/create-github-app-token@'))
/** What a step that uses the loop itself sets, for the backend. */
const loopStep = (file: string) => steps(file).find((s) => s.uses?.startsWith('afk-loop/afk-loop@'))

describe('the example workflows', () => {
  it('are all checked here', () => {
    expect(files.sort()).toEqual([
      'afk-agent.yml',
      'afk-loop-matrix.yml',
      'afk-loop-workflow-agent.yml',
      'afk-loop.yml'
    ])
  })

  it.each(files)(
    '%s pins every third-party action by full commit SHA, with its tag in a comment',
    (file) => {
      const lines = text(file)
        .split('\n')
        .filter((l) => /^\s*(- )?uses:/.test(l))
      expect(lines.length).toBeGreaterThan(0)
      for (const line of lines) {
        if (line.includes('afk-loop/afk-loop@')) continue // this action: README's "Pinning a version"
        expect(line).toMatch(/uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+(\.\d+)*$/)
      }
    }
  )

  it.each(files)(
    '%s gives GITHUB_TOKEN nothing it does not need, and scopes App tokens',
    (file) => {
      const w = workflow(file)
      const granted = typeof w.permissions === 'object' ? w.permissions : {}
      expect(Object.values(granted).filter((v) => v === 'write')).toEqual([])
      for (const step of appTokens(file)) {
        expect(step.with?.repositories).toBeTruthy()
        const permissions = Object.keys(step.with ?? {}).filter((k) => k.startsWith('permission-'))
        expect(permissions.length).toBeGreaterThan(0)
      }
    }
  )

  it.each(files.filter((f) => f.startsWith('afk-loop')))(
    '%s asks for actions: write only with the workflow backend',
    (file) => {
      const backend = loopStep(file)?.with?.agent ?? 't3'
      const actions = appTokens(file).map((s) => s.with?.['permission-actions'] ?? null)
      expect(actions).toEqual([backend === 'workflow' ? 'write' : null])
      expect(loopStep(file)?.with?.['state-secret']).toBe('${{ secrets.AFK_STATE_SECRET }}')
      expect(appTokens(file)[0]?.with?.['permission-issues']).toBe('write')
    }
  )

  it('the agent uses an App of its own, never the loop’s', () => {
    const agentApp = appTokens('afk-agent.yml')[0]?.with?.['app-id']
    const loopApps = files
      .filter((f) => f.startsWith('afk-loop'))
      .map((f) => appTokens(f)[0]?.with?.['app-id'])
    expect(agentApp).toBe('${{ vars.AFK_AGENT_APP_ID }}')
    expect(new Set(loopApps)).toEqual(new Set(['${{ vars.AFK_LOOP_APP_ID }}']))
    expect(text('afk-agent.yml')).not.toContain('AFK_LOOP_APP')
  })

  it('the loop mints no token (and makes no request) while the mode is off', () => {
    for (const file of files.filter((f) => f.startsWith('afk-loop'))) {
      expect(appTokens(file)[0]?.if).toBeTruthy()
    }
  })

  it('the loop mints its token in every mode that reads GitHub, check included', () => {
    // The guards take two shapes: `… != 'off'`, or a list of `… == 'mode'`.
    const minted = (guard: string): string[] =>
      /!= 'off'/.test(guard)
        ? ['check', 'on', 'stop', 'watch']
        : [...guard.matchAll(/AFK_LOOP_MODE == '(\w+)'/g)].map((m) => m[1] ?? '').sort()
    for (const file of files.filter((f) => f.startsWith('afk-loop'))) {
      expect([file, minted(appTokens(file)[0]?.if ?? '')]).toEqual([
        file,
        ['check', 'on', 'stop', 'watch']
      ])
    }
  })
})
