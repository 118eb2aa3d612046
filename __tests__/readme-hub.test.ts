/**
 * The README is a hub: every link in it points at a file that exists or a
 * heading it has, so a reader never lands nowhere.
 */
import { describe, expect, it } from '@jest/globals'
import { existsSync, readFileSync } from 'node:fs'

const readme = readFileSync('README.md', 'utf8')
const anchor = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-')
const headings = new Set([...readme.matchAll(/^#+ (.+)$/gm)].map((m) => anchor(m[1] ?? '')))
const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '')

describe('README links', () => {
  it('exist', () => {
    expect(links.length).toBeGreaterThan(10)
  })

  it.each(links.filter((l) => l.startsWith('#')))('%s is a heading of the README', (link) => {
    expect(headings).toContain(link.slice(1))
  })

  it.each(links.filter((l) => !/^(https?:|#|mailto:)/.test(l)))('%s exists', (link) => {
    expect(existsSync(link.split('#')[0] ?? '')).toBe(true)
  })
})
