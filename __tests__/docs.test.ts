/**
 * The documentation says what the code does: the inputs and outputs tables
 * of docs/inputs.md are generated from action.yml, and every table, snippet
 * and example the README and the docs/ pages show is checked against the code
 * it describes, so CI fails when one changes without the other.
 */
import { describe, expect, it } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import { renderTables, TABLES_PAGE, updateTables } from '../scripts/action-docs.mjs'

const readme = readFileSync('README.md', 'utf8')
const inputsPage = readFileSync(TABLES_PAGE, 'utf8')
const endingsPage = readFileSync('docs/how-runs-end.md', 'utf8')
const notificationsPage = readFileSync('docs/notifications.md', 'utf8')
const actionYml = readFileSync('action.yml', 'utf8')

describe('docs/inputs.md inputs and outputs tables', () => {
  it('are the page docs/inputs.md', () => {
    expect(TABLES_PAGE).toBe('docs/inputs.md')
    expect(inputsPage).toContain('| `mode` | `off` |')
  })

  it('match action.yml (run `npm run docs` when this fails)', () => {
    expect(updateTables(inputsPage, actionYml)).toBe(inputsPage)
  })

  it('would be stale after an input is added to action.yml', () => {
    const added = actionYml.replace(
      /^inputs:\n/m,
      "inputs:\n  brand-new-input:\n    description: Something new.\n    required: false\n    default: 'x'\n"
    )
    expect(added).not.toBe(actionYml)
    expect(updateTables(inputsPage, added)).not.toBe(inputsPage)
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

describe('docs/how-runs-end.md reasons', () => {
  it('explains every reason the loop can give, in the words the checklist uses', async () => {
    const { REASON_TEXT } = await import('../src/core/checklist.js')
    for (const [reason, text] of Object.entries(REASON_TEXT)) {
      expect(endingsPage).toContain(`| \`${reason}\` | ${text.replace(/\|/g, '\\|')} |`)
    }
  })
})

describe('docs/how-runs-end.md endings', () => {
  it('match ENDING_RULES: doorbell by pushed or not, hand-back, trunk close', async () => {
    const { ENDING_RULES, ENDINGS } = await import('../src/core/types.js')
    const section = endingsPage.split('### How a run ends')[1]?.split('\n\n')[1] ?? ''
    const rows = section.split('\n').filter((l) => /^\| `[A-Z_]+`/.test(l))
    expect(rows).toHaveLength(ENDINGS.length)
    const words = (k: string | null) => (k ? `\`${k}\`` : 'none')
    for (const line of rows) {
      const cells = line.split('|').map((c) => c.trim())
      const ending = /`([A-Z_]+)`/.exec(cells[1] ?? '')?.[1] as keyof typeof ENDING_RULES
      const rule = ENDING_RULES[ending]
      const { pushed, notPushed } = rule.doorbell
      expect({ ending, doorbell: cells[2] }).toEqual({
        ending,
        doorbell: pushed === notPushed ? words(pushed) : `${words(pushed)} / ${words(notPushed)}`
      })
      expect({ ending, handsBack: cells[3]?.startsWith('yes') }).toEqual({
        ending,
        handsBack: rule.handsBack
      })
      expect({ ending, closes: cells[4] === 'yes' }).toEqual({
        ending,
        closes: rule.closesTrunkIssue
      })
    }
  })
})

describe('README and docs/ commands and snippets', () => {
  const scripts = Object.keys(
    (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> })
      .scripts
  )
  const pages = [
    'README.md',
    'CONTRIBUTING.md',
    'BENCHMARKS.md',
    ...readdirSync('docs')
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`)
  ]
  const docs = pages.map((f) => readFileSync(f, 'utf8'))

  it('name only npm scripts that exist', () => {
    const named = docs.flatMap((d) => [...d.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]))
    expect(named.length).toBeGreaterThan(5)
    for (const name of named) expect(scripts).toContain(name)
  })

  it('give a signature check that accepts what the notifier signs and rejects a tampered body', async () => {
    const { signature } = await import('../src/notify/index.js')
    const { createHmac, timingSafeEqual } = await import('node:crypto')
    const snippet = /```js\n([\s\S]*?)```/.exec(notificationsPage)?.[1] ?? ''
    const body = snippet.replace(/^import .*\n/m, '') + '\nreturn ok'
    const verify = new Function(
      'createHmac',
      'timingSafeEqual',
      'secret',
      'rawBody',
      'request',
      body
    ) as (...args: unknown[]) => boolean
    const raw = JSON.stringify({ schema: 'afk-loop.doorbell/v1', kind: 'done' })
    const request = { headers: { 'x-afk-signature': signature('s3cret', raw) } }
    expect(verify(createHmac, timingSafeEqual, 's3cret', raw, request)).toBe(true)
    expect(verify(createHmac, timingSafeEqual, 's3cret', raw + ' ', request)).toBe(false)
    expect(verify(createHmac, timingSafeEqual, 'wrong', raw, request)).toBe(false)
  })

  it('document every field of the webhook body', async () => {
    const { webhookBodySchema } = await import('../src/notify/payloads.js')
    for (const field of Object.keys(webhookBodySchema.shape)) {
      expect(notificationsPage).toMatch(new RegExp('\\| `' + field + '`|, `' + field + '` \\|'))
    }
  })

  it('use only real inputs and outputs in the workflow snippet', async () => {
    const { parse } = await import('yaml')
    const action = parse(actionYml) as {
      inputs: Record<string, unknown>
      outputs: Record<string, unknown>
    }
    const blocks = [...inputsPage.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '')
    const snippet = blocks.find((b) => b.includes('steps.afk.outputs'))
    expect(snippet).toBeDefined()
    const steps = parse(snippet ?? '') as { with?: Record<string, unknown> }[]
    const used = steps.flatMap((s) => Object.keys(s.with ?? {}))
    expect(used.length).toBeGreaterThan(0)
    for (const input of used) expect(Object.keys(action.inputs)).toContain(input)
    for (const [, output] of (snippet ?? '').matchAll(/steps\.afk\.outputs\.([\w-]+)/g))
      expect(Object.keys(action.outputs)).toContain(output)
  })
})

describe('docs/how-runs-end.md status comment', () => {
  it('is what the checklist renders for a landed run', async () => {
    const { render } = await import('../src/core/checklist.js')
    const shown = /```markdown\n([\s\S]*?)```/.exec(endingsPage)?.[1] ?? ''
    const at = (hm: string) => `2026-11-24T${hm}:00.000Z`
    const rendered = render({
      repo: 'acme/widgets',
      issue: 42,
      phase: 'done',
      reason: 'ci-green',
      attempts: 1,
      maxAttempts: 3,
      claimedAt: at('01:00'),
      deadlineAt: at('07:00'),
      elapsedSeconds: 92 * 60,
      agent: { id: 'afk-1f2e3d-42-mi2x0a-a1', url: null },
      commit: {
        sha: '9fceb02d0ae598e95dc970b74767f19372d61af8',
        url: 'https://github.com/acme/widgets/commit/9fceb02d0ae598e95dc970b74767f19372d61af8'
      },
      ciStatus: 'green',
      deliveryUrl: 'https://github.com/acme/widgets/pull/43',
      history: [
        { at: at('01:00'), action: 'CLAIM', reason: 'claimed' },
        { at: at('01:41'), action: 'FIX_FORWARD', reason: 'ci-red' },
        { at: at('02:32'), action: 'CLOSE_SUCCESS', reason: 'ci-green' }
      ]
    })
    expect(shown.trimEnd()).toBe(rendered.trimEnd())
  })
})
