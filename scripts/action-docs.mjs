#!/usr/bin/env node
/**
 * The inputs and outputs tables of docs/inputs.md, generated from action.yml
 * so the two can't disagree. `node scripts/action-docs.mjs` rewrites the page
 * between the markers; `--check` exits 1 (naming the page) when it is stale,
 * which CI and a test run.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

const START = '<!-- action-docs:start (generated from action.yml by `npm run docs`) -->'
const END = '<!-- action-docs:end -->'

/** The page that holds the generated tables, relative to the repository root. */
export const TABLES_PAGE = 'docs/inputs.md'

const cell = (text) =>
  String(text ?? '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\|/g, '\\|')

const code = (value) => (value === '' || value === undefined ? '—' : `\`${value}\``)

/** The generated Markdown for an action.yml text. */
export function renderTables(actionYml) {
  const action = parse(actionYml)
  const lines = ['## Inputs', '', '| input | default | description |', '|---|---|---|']
  for (const [name, spec] of Object.entries(action.inputs ?? {})) {
    lines.push(`| \`${name}\` | ${code(spec.default)} | ${cell(spec.description)} |`)
  }
  lines.push('', '## Outputs', '', '| output | description |', '|---|---|')
  for (const [name, spec] of Object.entries(action.outputs ?? {})) {
    lines.push(`| \`${name}\` | ${cell(spec.description)} |`)
  }
  return lines.join('\n')
}

/** The page with its generated block replaced. */
export function updateTables(page, actionYml) {
  const start = page.indexOf(START)
  const end = page.indexOf(END)
  if (start < 0 || end < start) {
    throw new Error(`${TABLES_PAGE} has no generated block: add the lines\n${START}\n${END}`)
  }
  return `${page.slice(0, start + START.length)}\n\n${renderTables(actionYml)}\n\n${page.slice(end)}`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = new URL('..', import.meta.url)
  const pagePath = new URL(TABLES_PAGE, root)
  const page = readFileSync(pagePath, 'utf8')
  const next = updateTables(page, readFileSync(new URL('action.yml', root), 'utf8'))
  if (process.argv.includes('--check')) {
    if (next !== page) {
      console.error(
        `${TABLES_PAGE} is out of date with action.yml: run \`npm run docs\` and commit ${TABLES_PAGE}.`
      )
      process.exit(1)
    }
    console.log(`${TABLES_PAGE} matches action.yml`)
  } else if (next !== page) {
    writeFileSync(pagePath, next)
    console.log(`${TABLES_PAGE} updated from action.yml`)
  }
}
