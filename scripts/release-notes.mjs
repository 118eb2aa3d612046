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

/** Compare two release versions (`1.2.3`, no pre-release part): <0, 0, >0. */
function compareVersions(a, b) {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i]
  return 0
}

/**
 * The major tag this release moves, given the version tags that already
 * exist (`v1.2.0`, `refs/tags/v1.2.0`, …): `v1` only when `tag` is the newest
 * release of its major version, so a patch to an older line (v1.0.9 after
 * v1.2.0) publishes its release but never moves users of `v1` backwards.
 * Null for a pre-release, or when a newer release of the same major exists.
 */
export function majorTagToMove(tag, existingTags) {
  const major = majorTag(tag)
  if (!major) return null
  const version = versionOfTag(tag)
  const newer = existingTags
    .map((t) => versionOfTag(String(t).replace(/^refs\/tags\//, '')))
    .filter((v) => v !== null && !v.includes('-') && `v${v.split('.')[0]}` === major)
    .some((v) => compareVersions(v, version) > 0)
  return newer ? null : major
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

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--major') {
  // `--major v1.2.3 < tags`: prints the major tag to move, or nothing.
  const tags = readFileSync(0, 'utf8').split(/\s+/).filter(Boolean)
  process.stdout.write(`${majorTagToMove(process.argv[3] ?? '', tags) ?? ''}\n`)
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
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
