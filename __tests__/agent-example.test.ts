/**
 * The agent workflow example can do the job it is given: run the project's
 * tests and read the failing CI run (with exactly the tools and permissions
 * that takes), and it — like docs/prompt-templates.md — documents every
 * placeholder the prompt templates accept.
 */
import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { PROMPT_PLACEHOLDERS } from '../src/core/prompts.js'

const text = readFileSync('examples/afk-agent.yml', 'utf8')
const templatesPage = readFileSync('docs/prompt-templates.md', 'utf8')
interface Step {
  uses?: string
  run?: string
  env?: Record<string, string>
  with?: Record<string, string>
}
const workflow = parse(text) as {
  jobs: { agent: { steps: Step[] }; push: { needs: string; steps: Step[] } }
}
const steps = workflow.jobs.agent.steps
const token = steps.find((s) => s.uses?.startsWith('actions/create-github-app-token@'))
const agent = steps.find((s) => s.uses?.startsWith('anthropics/claude-code-action@'))
const ALL = [
  ...new Set([
    ...Object.keys(PROMPT_PLACEHOLDERS.first),
    ...Object.keys(PROMPT_PLACEHOLDERS.fixForward)
  ])
]

describe('examples/afk-agent.yml', () => {
  it("lets the agent read CI: the token has actions: read, and the agent gets GitHub's CI tools", () => {
    expect(token?.with?.['permission-actions']).toBe('read')
    expect(agent?.with?.additional_permissions?.trim()).toBe('actions: read')
  })

  it("lets the agent install and run the project's tests, and nothing else in a shell", () => {
    const args = agent?.with?.claude_args ?? ''
    const allowed = /--allowedTools "([^"]*)"/.exec(args)?.[1]?.split(',') ?? []
    expect(allowed).toEqual([
      "Bash(${{ vars.AFK_INSTALL_COMMAND || 'npm ci' }})",
      "Bash(${{ vars.AFK_TEST_COMMAND || 'npm test' }})"
    ])
    expect(args).toMatch(/--max-turns \d+/)
  })

  it('keeps write access away from the job that runs code the issue can steer', () => {
    // The agent job runs the project's tests as the runner's user (with sudo):
    // its token only reads, nothing is persisted in .git/config, and the model
    // key is scrubbed from the commands' environment.
    const permissionsOf = (step: Step | undefined) =>
      Object.entries(step?.with ?? {}).filter(([k]) => k.startsWith('permission-'))
    expect(permissionsOf(token)).toEqual([['permission-actions', 'read']])
    expect(agent?.env?.CLAUDE_CODE_SUBPROCESS_ENV_SCRUB).toBe('1')
    const all = [...steps, ...workflow.jobs.push.steps]
    for (const step of all.filter((s) => s.uses?.startsWith('actions/checkout@'))) {
      expect(step.with?.['persist-credentials']).toBe(false)
    }
    // The write token lives in the push job, minted last, and only the push step gets it, via env.
    const push = workflow.jobs.push.steps
    expect(workflow.jobs.push.needs).toBe('agent')
    const writer = push.findIndex((s) => s.uses?.startsWith('actions/create-github-app-token@'))
    expect(permissionsOf(push[writer])).toEqual([
      ['permission-contents', 'write'],
      ['permission-pull-requests', 'write']
    ])
    expect(push.slice(writer + 1)).toHaveLength(1)
    expect(push[writer + 1]?.env?.GH_TOKEN).toBe('${{ steps.app.outputs.token }}')
    expect(push.filter((s) => JSON.stringify(s).includes('steps.app.outputs.token'))).toHaveLength(
      1
    )
    // No expression is pasted into a shell script, and no token reaches a command line.
    for (const step of all) expect(step.run ?? '').not.toContain('${{')
    expect(push[writer + 1]?.run).toContain(`echo "password=$GH_TOKEN"; }; f'`)
    // No App permission on issues: the prompt carries the issue's text, hidden text removed.
    expect(text).not.toMatch(/permission-issues/)
  })

  it.each(ALL)('documents the placeholder {{%s}}', (name) => {
    expect(text).toContain(`{{${name}}}`)
  })
})

describe('docs/prompt-templates.md', () => {
  it.each(ALL)('lists the placeholder {{%s}} with what it stands for', (name) => {
    const description =
      (PROMPT_PLACEHOLDERS.first as Record<string, string>)[name] ??
      (PROMPT_PLACEHOLDERS.fixForward as Record<string, string>)[name] ??
      ''
    const row = new RegExp(
      `^\\| \`\\{\\{${name}\\}\\}\` \\|[^\\n]*\\| ${description.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\|$`,
      'm'
    )
    expect(templatesPage).toMatch(row)
  })
})

describe('README', () => {
  const readme = readFileSync('README.md', 'utf8')

  it.each(ALL)('names the placeholder {{%s}} and links the page that explains it', (name) => {
    const prompts = readme.split('- **Prompts**')[1]?.split('\n- ')[0] ?? ''
    expect(prompts).toContain(`\`{{${name}}}\``)
    expect(prompts).toContain('(docs/prompt-templates.md)')
  })
})
