/**
 * No merge conflict is ever committed: not as git writes its markers, and
 * not as Prettier rewrites them in Markdown (an indented `<<<<<<< HEAD`, an
 * escaped `\=======`, `>>>>>>>` turned into a nested quote), which is how one
 * reached CHANGELOG.md once.
 */
import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const MARKER = /^\s*(?:<{7}|\\?={7}|>{7}|(?:> ){6}>)(?:\s|$)/

export function conflictLines(text: string): number[] {
  return text
    .split('\n')
    .map((line, i) => (MARKER.test(line) ? i + 1 : 0))
    .filter((n) => n > 0)
}

describe('the repository', () => {
  it('recognises conflict markers, also as Prettier rewrites them', () => {
    expect(conflictLines('a\n<<<<<<< HEAD\nb\n=======\nc\n>>>>>>> main\n')).toEqual([2, 4, 6])
    expect(conflictLines('  <<<<<<< HEAD\n  \\=======\n> > > > > > > main')).toEqual([1, 2, 3])
    expect(conflictLines('Title\n=======\n')).toEqual([2])
    expect(conflictLines('a ======= b\n> quote\n===\n')).toEqual([])
  })

  it('has no conflict markers in any tracked text file', () => {
    const files = execFileSync('git', ['ls-files'], { encoding: 'utf8' })
      .split('\n')
      .filter((f) => /\.(md|ts|mts|mjs|js|json|ya?ml)$/.test(f) && !f.startsWith('dist/'))
    const found = files.flatMap((f) =>
      conflictLines(readFileSync(f, 'utf8')).map((n) => `${f}:${n}`)
    )
    expect(found).toEqual([])
  })
})
