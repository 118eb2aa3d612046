/**
 * The README is a hub: what afk-loop is, the demo, the quick start (beginning
 * with `mode: check`), the backends, and a link per topic into docs/. Every
 * relative link in it, in docs/ and in the top-level Markdown files points at
 * a file that exists and, when it names an anchor, at a heading that file
 * has, so a reader never lands nowhere; and every docs/ page a source file or
 * action.yml names (in an error message, say) exists with the anchor it names.
 */
import { describe, expect, it } from '@jest/globals'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'

const readme = readFileSync('README.md', 'utf8')

/** Markdown files under a folder, recursively. */
const markdownUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return markdownUnder(path)
    return name.endsWith('.md') ? [path] : []
  })

const PAGES = [
  'README.md',
  'SECURITY.md',
  'CONTRIBUTING.md',
  'CHANGELOG.md',
  'BENCHMARKS.md',
  ...markdownUnder('docs')
]

/** The text outside fenced code blocks (a `#` comment in YAML is no heading). */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```/gm, '')

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
    .replace(/ /g, '-')

/** Every anchor a Markdown file has; a repeated heading gets -1, -2… as on GitHub. */
function anchorsOf(path: string): Set<string> {
  const seen = new Map<string, number>()
  const anchors = new Set<string>()
  for (const [, heading] of prose(readFileSync(path, 'utf8')).matchAll(/^#{1,6} (.+)$/gm)) {
    const base = slug(heading ?? '')
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    anchors.add(count === 0 ? base : `${base}-${count}`)
  }
  return anchors
}

/** Relative links of a Markdown file, outside code, as [page, link]. */
const linksOf = (page: string) =>
  [...prose(readFileSync(page, 'utf8')).matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] ?? '')
    .filter((link) => !/^(https?:|mailto:)/.test(link))
    .map((link) => [page, link] as const)

/** Whether a link from a page resolves: the file exists, and so does the anchor. */
function problem(page: string, link: string): string | null {
  const [target = '', anchor] = link.split('#')
  const path = target === '' ? page : normalize(join(dirname(page), target))
  if (!existsSync(path)) return `${path} does not exist`
  if (anchor === undefined) return null
  if (!path.endsWith('.md')) return `${path} is no Markdown page: it has no #${anchor}`
  return anchorsOf(path).has(anchor) ? null : `${path} has no heading #${anchor}`
}

describe('the anchors this test computes', () => {
  it('follow GitHub: punctuation dropped, code marks dropped, repeats numbered', () => {
    expect(slug('T3 Code (`agent: t3`)')).toBe('t3-code-agent-t3')
    expect(slug('Design note: no `@actions/cache`')).toBe('design-note-no-actionscache')
    expect(slug('Every reason, in plain words')).toBe('every-reason-in-plain-words')
    expect([...anchorsOf('docs/setup.md')]).toContain('the-loops-workflow-1')
  })

  it('find a broken link and a missing anchor', () => {
    expect(problem('README.md', 'docs/no-such-page.md')).toMatch(/does not exist/)
    expect(problem('README.md', 'docs/backends.md#no-such-heading')).toMatch(/no heading/)
    expect(problem('docs/backends.md', '../README.md#quick-start')).toBeNull()
    expect(problem('docs/backends.md', '#t3-code-compatibility')).toBeNull()
  })
})

describe('relative links in the README, docs/ and the top-level pages', () => {
  const links = PAGES.flatMap(linksOf)

  it('exist in every page that should have them', () => {
    expect(linksOf('README.md').length).toBeGreaterThan(15)
    expect(links.filter(([, link]) => link.includes('#')).length).toBeGreaterThan(5)
  })

  it.each(links.map(([page, link]) => [page, link]))('%s: %s resolves', (page, link) => {
    expect(problem(page, link)).toBeNull()
  })
})

describe('docs/ pages named by the code and action.yml', () => {
  const sources = [
    'action.yml',
    ...readdirSync('src', { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join('src', f))
  ]
  const named = sources.flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/\bdocs\/[\w/.-]+\.md(?:#[\w-]+)?/g)].map(
      (m) => [file, m[0]] as const
    )
  )

  it('are named (the error messages point into docs/)', () => {
    expect(named.map(([, page]) => page)).toContain('docs/prompt-templates.md')
  })

  it.each(named.map(([file, page]) => [file, page]))('%s names %s, which exists', (_file, page) => {
    expect(problem('README.md', page)).toBeNull()
  })
})

describe('the README as a hub', () => {
  it('links every page in docs/', () => {
    const linked = new Set(linksOf('README.md').map(([, link]) => link.split('#')[0]))
    for (const page of readdirSync('docs').filter((f) => f.endsWith('.md'))) {
      expect({ page, linked: linked.has(`docs/${page}`) }).toEqual({ page, linked: true })
    }
  })

  it('stays short: detail goes to a page in docs/ (at most 300 lines)', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(300)
  })

  it('shows the demo and the test command', () => {
    const seeIt = readme.split('## See it work')[1]?.split('\n## ')[0] ?? ''
    expect(seeIt).toMatch(/^npm run demo\b/m)
    expect(seeIt).toMatch(/^npm test\b/m)
  })

  it('begins the quick start with mode: check', () => {
    const quickStart = readme.split('## Quick start')[1]?.split('\n## ')[0] ?? ''
    const firstParagraph = quickStart.trim().split('\n\n')[0] ?? ''
    expect(firstParagraph).toMatch(/^Begin with `mode: check`/)
  })

  it('states the oldest GitHub Enterprise Server docs/ghes.md supports', () => {
    const oldest = /Oldest supported: GHES (\d+\.\d+)/.exec(
      readFileSync('docs/ghes.md', 'utf8')
    )?.[1]
    expect(oldest).toMatch(/^3\.\d+$/)
    expect(readme).toContain(`**GitHub Enterprise Server ${oldest}** and later`)
  })

  it('introduces each agent backend', () => {
    for (const agent of ['t3', 'workflow', 'copilot'])
      expect(readme).toContain(`(\`agent: ${agent}\``)
  })
})
