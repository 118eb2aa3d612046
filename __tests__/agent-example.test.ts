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
const workflow = parse(text) as {
  jobs: { agent: { steps: { uses?: string; with?: Record<string, string> }[] } }
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
