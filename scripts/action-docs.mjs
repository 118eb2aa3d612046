#!/usr/bin/env node
/**
 * The README's inputs and outputs tables, generated from action.yml so the
 * two can't disagree. `node scripts/action-docs.mjs` rewrites the README
 * between the markers; `--check` exits 1 (naming what differs) when the
 * README is stale, which CI and a test run.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

const START = '<!-- action-docs:start (generated from action.yml by `npm run docs`) -->'
const END = '<!-- action-docs:end -->'

const cell = (text) =>
  String(text ?? '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\|/g, '\\|')

const code = (value) => (value === '' || value === undefined ? '—' : `\`${value}\``)

/** The generated Markdown for an action.yml text. */
export function renderTables(actionYml) {
  const action = parse(actionYml)
  const lines = ['### Inputs', '', '| input | default | description |', '|---|---|---|']
  for (const [name, spec] of Object.entries(action.inputs ?? {})) {
    lines.push(`| \`${name}\` | ${code(spec.default)} | ${cell(spec.description)} |`)
  }
  lines.push('', '### Outputs', '', '| output | description |', '|---|---|')
  for (const [name, spec] of Object.entries(action.outputs ?? {})) {
    lines.push(`| \`${name}\` | ${cell(spec.description)} |`)
  }
  return lines.join('\n')
}

/** The README with its generated block replaced. */
export function updateReadme(readme, actionYml) {
  const start = readme.indexOf(START)
  const end = readme.indexOf(END)
  if (start < 0 || end < start) {
    throw new Error(`README.md has no generated block: add the lines\n${START}\n${END}`)
  }
  return `${readme.slice(0, start + START.length)}\n\n${renderTables(actionYml)}\n\n${readme.slice(end)}`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = new URL('..', import.meta.url)
  const readmePath = new URL('README.md', root)
  const readme = readFileSync(readmePath, 'utf8')
  const next = updateReadme(readme, readFileSync(new URL('action.yml', root), 'utf8'))
  if (process.argv.includes('--check')) {
    if (next !== readme) {
      console.error(
        'README.md is out of date with action.yml: run `npm run docs` and commit README.md.'
      )
      process.exit(1)
    }
    console.log('README.md matches action.yml')
  } else if (next !== readme) {
    writeFileSync(readmePath, next)
    console.log('README.md updated from action.yml')
  }
}
