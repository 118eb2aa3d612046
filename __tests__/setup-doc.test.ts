/**
 * docs/setup.md is self-contained: a newcomer needs no other file. So it
 * carries the example workflows and the App manifests verbatim (the linted,
 * schema-checked files are the ones people copy), links only to the web,
 * names every secret and variable the examples read, and the manifests'
 * redirect URLs land on its own headings.
 */
import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { embed } from '../scripts/embed-docs.mjs'

const doc = readFileSync('docs/setup.md', 'utf8')
const EXAMPLES = [
  'examples/afk-loop.yml',
  'examples/afk-loop-workflow-agent.yml',
  'examples/afk-agent.yml'
]
const MANIFESTS = ['loop-app.json', 'loop-app-workflow.json', 'agent-app.json'].map(
  (f) => `docs/manifests/${f}`
)

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-')
}

describe('docs/setup.md', () => {
  it.each(EXAMPLES)('carries %s verbatim', (file) => {
    expect(doc).toContain('```yaml\n' + readFileSync(file, 'utf8') + '```')
  })

  it.each(MANIFESTS)('carries %s verbatim', (file) => {
    expect(doc).toContain('```json\n' + readFileSync(file, 'utf8') + '```')
  })

  it('is what `npm run docs` embeds, and would be stale after an example changes', () => {
    expect(embed(doc)).toBe(doc)
    const changed = embed(doc, (path) =>
      path === 'examples/afk-agent.yml' ? 'name: changed\n' : readFileSync(path, 'utf8')
    )
    expect(changed).not.toBe(doc)
    expect(changed).toContain(
      '<!-- embed: examples/afk-agent.yml -->\n\n```yaml\nname: changed\n```'
    )
  })

  it('links only to the web or to its own headings', () => {
    const anchors = new Set([...doc.matchAll(/^#+ (.+)$/gm)].map((m) => anchor(m[1] ?? '')))
    const links = [...doc.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1] ?? '')
    expect(links.length).toBeGreaterThan(0)
    for (const link of links) {
      if (link.startsWith('#')) expect(anchors).toContain(link.slice(1))
      else expect(link).toMatch(/^https:\/\//)
    }
  })

  it("is where the manifests' redirect URLs land", () => {
    const anchors = new Set([...doc.matchAll(/^#+ (.+)$/gm)].map((m) => anchor(m[1] ?? '')))
    for (const file of MANIFESTS) {
      const { redirect_url } = JSON.parse(readFileSync(file, 'utf8')) as { redirect_url: string }
      expect(redirect_url).toMatch(/\/docs\/setup\.md#/)
      expect(anchors).toContain(redirect_url.split('#')[1])
    }
  })

  it('tells where every secret and variable the examples read goes', () => {
    const names = new Set(
      EXAMPLES.flatMap((f) =>
        [...readFileSync(f, 'utf8').matchAll(/\b(?:secrets|vars)\.([A-Z0-9_]+)/g)].map(
          (m) => m[1] ?? ''
        )
      )
    )
    expect(names.size).toBeGreaterThan(5)
    for (const name of names) expect(doc).toMatch(new RegExp('^\\| `' + name + '`', 'm'))
  })

  it('ends with a checklist, and starts the loop with mode: check', () => {
    const checklist = doc.slice(doc.indexOf('## Checklist'))
    expect(checklist.match(/^- \[ \] /gm)?.length).toBeGreaterThanOrEqual(6)
    expect(checklist).toContain('`AFK_LOOP_MODE` = `check`')
    expect(doc.indexOf('`check`')).toBeLessThan(doc.indexOf('`AFK_LOOP_MODE` to `on`'))
  })
})
