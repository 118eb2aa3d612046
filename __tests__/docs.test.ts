/**
 * The README's inputs and outputs tables are generated from action.yml; this
 * fails CI when someone changes one without regenerating the other.
 */
import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { renderTables, updateReadme } from '../scripts/action-docs.mjs'

const readme = readFileSync('README.md', 'utf8')
const actionYml = readFileSync('action.yml', 'utf8')

describe('README inputs and outputs tables', () => {
  it('match action.yml (run `npm run docs` when this fails)', () => {
    expect(updateReadme(readme, actionYml)).toBe(readme)
  })

  it('would be stale after an input is added to action.yml', () => {
    const added = actionYml.replace(
      /^inputs:\n/m,
      "inputs:\n  brand-new-input:\n    description: Something new.\n    required: false\n    default: 'x'\n"
    )
    expect(added).not.toBe(actionYml)
    expect(updateReadme(readme, added)).not.toBe(readme)
    expect(renderTables(added)).toContain('| `brand-new-input` | `x` | Something new. |')
  })

  it('escape pipes and flatten newlines in descriptions', () => {
    const yml =
      'inputs:\n  a:\n    description: "one | two\\nthree"\n    default: \'\'\noutputs: {}\n'
    expect(renderTables(yml)).toContain('| `a` | — | one \\| two three |')
  })
})

describe('README quick start', () => {
  it('is examples/afk-loop.yml, verbatim (so the linted file is the one people copy)', () => {
    const example = readFileSync('examples/afk-loop.yml', 'utf8')
    expect(readme).toContain('```yaml\n' + example + '```')
  })
})

describe('README reasons', () => {
  it('explains every reason the loop can give, in the words the checklist uses', async () => {
    const { REASON_TEXT } = await import('../src/core/checklist.js')
    for (const [reason, text] of Object.entries(REASON_TEXT)) {
      expect(readme).toContain(`| \`${reason}\` | ${text.replace(/\|/g, '\\|')} |`)
    }
  })
})
