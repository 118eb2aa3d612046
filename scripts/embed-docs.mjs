#!/usr/bin/env node
/**
 * docs/setup.md carries the example workflows and App manifests verbatim, so
 * a newcomer needs no other file; the README's quick start carries
 * examples/afk-loop.yml. Each copy follows a marker
 * `<!-- embed: path -->`; `node scripts/embed-docs.mjs` rewrites the fenced
 * block after each marker from the file, `--check` exits 1 when one is stale
 * (run by `npm run docs` and `npm run docs:check`).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const EMBEDDING = ['README.md', 'docs/setup.md']

/** The document with every embedded block refreshed from its file. */
export function embed(doc, read = (path) => readFileSync(path, 'utf8')) {
  return doc.replace(
    /(<!-- embed: ([^\s]+) -->\n+```(\w+)\n)[\s\S]*?```/g,
    (_all, head, path) => `${head}${read(path).replace(/\n*$/, '\n')}\`\`\``
  )
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check')
  let stale = false
  for (const file of EMBEDDING) {
    const doc = readFileSync(file, 'utf8')
    const next = embed(doc)
    if (next === doc) continue
    if (check) {
      console.error(`${file} is stale: run 'npm run docs'.`)
      stale = true
    } else writeFileSync(file, next)
  }
  if (stale) process.exit(1)
}
