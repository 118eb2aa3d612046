/**
 * SECURITY.md's threat table names, for each threat, the tests that show the
 * attack failing. A name that points nowhere is a claim nobody checks: every
 * test file it names must exist, and every quoted test name beside it must be
 * in that file.
 */
import { describe, expect, it } from '@jest/globals'
import { existsSync, readFileSync } from 'node:fs'

const security = readFileSync('SECURITY.md', 'utf8')

/** Each `__tests__/…` path the document names, with the quoted names after it. */
function citedTests(text: string): { file: string; names: string[] }[] {
  const cited: { file: string; names: string[] }[] = []
  for (const m of text.matchAll(/`(__tests__\/[^`]+)`(?:\s*\(([^)]*)\))?/g)) {
    const names = [...(m[2] ?? '').matchAll(/"([^"]+)"/g)].map((q) => q[1] ?? '')
    cited.push({ file: m[1] ?? '', names })
  }
  return cited
}

describe('SECURITY.md', () => {
  const cited = citedTests(security)

  it('names tests for the threats', () => {
    expect(cited.length).toBeGreaterThanOrEqual(10)
  })

  it('names only test files that exist', () => {
    const missing = cited.map((c) => c.file).filter((file) => !existsSync(file))
    expect(missing).toEqual([])
  })

  it('quotes only test names that are in the file it names', () => {
    const missing = cited.flatMap(({ file, names }) => {
      const source = existsSync(file) ? readFileSync(file, 'utf8').toLowerCase() : ''
      return names
        .filter((name) => !source.includes(name.toLowerCase()))
        .map((n) => `${file}: "${n}"`)
    })
    expect(missing).toEqual([])
  })
})
