#!/usr/bin/env node
/**
 * The release notes of one version, cut from CHANGELOG.md, for the release
 * workflow. `node scripts/release-notes.mjs v1.2.3` prints the body of the
 * `## 1.2.3` (or `## v1.2.3`, `## [1.2.3] - date`) section and exits 1 —
 * naming what to fix — when the tag is not a version, when package.json's
 * `version` differs from it, or when CHANGELOG has no section for it: a
 * release is never published with empty or wrong notes.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const VERSION = /^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/

/** `1.2.3` for `v1.2.3`, or null when the tag is not a semantic version. */
export function versionOfTag(tag) {
  return VERSION.exec(tag)?.[1] ?? null
}

/** The `v1` a tag moves, or null for a pre-release (which moves nothing). */
export function majorTag(tag) {
  const version = versionOfTag(tag)
  if (!version || version.includes('-')) return null
  return `v${version.split('.')[0]}`
}

/** The body of the CHANGELOG section for `version`, trimmed, or null. */
export function releaseNotes(changelog, version) {
  const lines = changelog.split('\n')
  const escaped = version.replace(/[.+-]/g, (c) => `\\${c}`)
  const heading = new RegExp(`^## \\[?v?${escaped}\\]?(\\s|$)`)
  const start = lines.findIndex((line) => heading.test(line))
  if (start === -1) return null
  const rest = lines.slice(start + 1)
  const end = rest.findIndex((line) => /^## /.test(line))
  const body = (end === -1 ? rest : rest.slice(0, end)).join('\n').trim()
  return body === '' ? null : body
}

/** Every problem with releasing `tag` from these files; empty when it can go. */
export function releaseProblems(tag, changelog, packageVersion) {
  const version = versionOfTag(tag)
  if (!version) return [`'${tag}' is not a version tag: tag releases as v1.2.3.`]
  const problems = []
  if (packageVersion !== version) {
    problems.push(
      `package.json says version ${packageVersion}, the tag says ${version}: set "version": "${version}" and tag that commit.`
    )
  }
  if (releaseNotes(changelog, version) === null) {
    problems.push(
      `CHANGELOG.md has no non-empty '## ${version}' section: rename 'Unreleased' to '${version}' before tagging.`
    )
  }
  return problems
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const tag = process.argv[2] ?? ''
  const changelog = readFileSync('CHANGELOG.md', 'utf8')
  const { version } = JSON.parse(readFileSync('package.json', 'utf8'))
  const problems = releaseProblems(tag, changelog, version)
  if (problems.length > 0) {
    for (const problem of problems) console.error(`::error::${problem}`)
    process.exit(1)
  }
  process.stdout.write(`${releaseNotes(changelog, versionOfTag(tag))}\n`)
}
