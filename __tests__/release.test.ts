/**
 * Releases: the release workflow cuts its notes from CHANGELOG.md and moves
 * the major tag with scripts/release-notes.mjs, so a tag that disagrees with
 * package.json or has no CHANGELOG section is refused before anything is
 * published. Dependabot watches both ecosystems the action depends on.
 */
import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import {
  majorTag,
  majorTagToMove,
  releaseNotes,
  releaseProblems,
  versionOfTag
} from '../scripts/release-notes.mjs'

const changelog = `# Changelog

## Unreleased

- Something not out yet.

## [1.2.0] - 2026-12-01

- Added \`mode: check\`.
- Labels are created on the first tick.

## 1.1.0

- Older.
`

describe('release notes', () => {
  it('are the section of the tagged version, up to the next heading', () => {
    expect(releaseNotes(changelog, '1.2.0')).toBe(
      '- Added `mode: check`.\n- Labels are created on the first tick.'
    )
    expect(releaseNotes(changelog, '1.1.0')).toBe('- Older.')
  })

  it('are missing for a version CHANGELOG does not name (no prefix matches)', () => {
    expect(releaseNotes(changelog, '1.2.1')).toBeNull()
    expect(releaseNotes(changelog, '1.1')).toBeNull()
    expect(releaseNotes('## 2.0.0\n\n## 1.0.0\n- x', '2.0.0')).toBeNull()
  })
})

describe('a release tag', () => {
  it('is a semantic version; v1.2.3 moves v1, a pre-release moves nothing', () => {
    expect(versionOfTag('v1.2.3')).toBe('1.2.3')
    expect(versionOfTag('v1')).toBeNull()
    expect(versionOfTag('latest')).toBeNull()
    expect(majorTag('v1.2.3')).toBe('v1')
    expect(majorTag('v12.0.1')).toBe('v12')
    expect(majorTag('v2.0.0-rc.1')).toBeNull()
  })

  it('moves its major tag only when it is the newest release of that major version', () => {
    const tags = ['refs/tags/v1', 'refs/tags/v1.0.0', 'refs/tags/v1.2.0', 'refs/tags/v2.0.0-rc.1']
    expect(majorTagToMove('v1.2.1', tags)).toBe('v1')
    expect(majorTagToMove('v1.0.9', tags)).toBeNull()
    expect(majorTagToMove('v1.2.0', tags)).toBe('v1')
    expect(majorTagToMove('v1.10.0', ['v1.9.0', 'v1.2.0'])).toBe('v1')
    expect(majorTagToMove('v1.9.0', ['v1.10.0'])).toBeNull()
    expect(majorTagToMove('v2.0.0', tags)).toBe('v2')
    expect(majorTagToMove('v2.0.0', [...tags, 'v3.0.0'])).toBe('v2')
    expect(majorTagToMove('v2.1.0-rc.1', tags)).toBeNull()
  })

  it('is refused, saying what to fix, when package.json or CHANGELOG disagree', () => {
    expect(releaseProblems('v1.2.0', changelog, '1.2.0')).toEqual([])
    expect(releaseProblems('v1.2.0', changelog, '1.1.0')).toEqual([
      expect.stringContaining('"version": "1.2.0"')
    ])
    expect(releaseProblems('v1.3.0', changelog, '1.3.0')).toEqual([
      expect.stringContaining("'## 1.3.0'")
    ])
    expect(releaseProblems('v1', changelog, '1.2.0')).toEqual([
      expect.stringContaining('not a version tag')
    ])
  })
})

describe('the release workflow', () => {
  const workflow = parse(readFileSync('.github/workflows/release.yml', 'utf8')) as {
    on: { push: { tags: string[] } }
    permissions: Record<string, string>
    jobs: { release: { steps: { name?: string; run?: string }[] } }
  }
  const runs = workflow.jobs.release.steps.map((s) => s.run ?? '').join('\n')

  it('runs on version tags with only contents: write', () => {
    expect(workflow.on.push.tags).toEqual(['v*.*.*'])
    expect(workflow.permissions).toEqual({ contents: 'write' })
  })

  it('checks the notes and a fresh dist/ before it publishes, and moves the major tag last', () => {
    const order = [
      'scripts/release-notes.mjs "$TAG"',
      'npm run bundle',
      'git status --porcelain -- dist',
      'npm run licenses',
      'gh release create "$TAG"',
      'scripts/release-notes.mjs --major "$TAG"',
      '"repos/$GITHUB_REPOSITORY/git/refs/tags/$major" -f sha="$GITHUB_SHA"'
    ].map((needle) => runs.indexOf(needle))
    expect(order.every((i) => i >= 0)).toBe(true)
    expect([...order].sort((a, b) => a - b)).toEqual(order)
  })
})

describe('the workflows that build or write', () => {
  const workflows = ['release.yml', 'ci.yml'].map((file) => ({
    file,
    steps: Object.values(
      (
        parse(readFileSync(`.github/workflows/${file}`, 'utf8')) as {
          jobs: Record<string, { steps: { uses?: string; with?: Record<string, unknown> }[] }>
        }
      ).jobs
    ).flatMap((job) => job.steps)
  }))

  it('pin every action by commit SHA, with its tag in a comment', () => {
    for (const { file, steps } of workflows) {
      for (const step of steps.filter((s) => s.uses)) {
        expect(`${file}: ${step.uses}`).toMatch(/@[0-9a-f]{40}$/)
      }
      const text = readFileSync(`.github/workflows/${file}`, 'utf8')
      expect(text).not.toMatch(/uses: \S+@[0-9a-f]{40}\s*$/m)
    }
  })

  it('check out without keeping the token in .git/config', () => {
    for (const { file, steps } of workflows) {
      const checkouts = steps.filter((s) => s.uses?.startsWith('actions/checkout@'))
      expect(checkouts.length).toBeGreaterThan(0)
      for (const step of checkouts)
        expect([file, step.with?.['persist-credentials']]).toEqual([file, false])
    }
  })
})

describe('dependabot', () => {
  it('updates npm packages and GitHub Actions, keeping TypeScript on 5.9', () => {
    const config = parse(readFileSync('.github/dependabot.yml', 'utf8')) as {
      version: number
      updates: {
        'package-ecosystem': string
        directory: string
        schedule: { interval: string }
        ignore?: { 'dependency-name': string }[]
      }[]
    }
    expect(config.version).toBe(2)
    expect(config.updates.map((u) => u['package-ecosystem']).sort()).toEqual([
      'github-actions',
      'npm'
    ])
    for (const u of config.updates) {
      expect(u.directory).toBe('/')
      expect(['daily', 'weekly', 'monthly']).toContain(u.schedule.interval)
    }
    const npm = config.updates.find((u) => u['package-ecosystem'] === 'npm')
    expect(npm?.ignore?.map((i) => i['dependency-name'])).toContain('typescript')
  })
})

describe('the licence check', () => {
  it('runs in CI and in .ci/run with an allowlist', () => {
    const script = (
      JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }
    ).scripts.licenses
    expect(script).toMatch(/--production/)
    expect(script).toMatch(/--onlyAllow "[^"]*MIT/)
    expect(readFileSync('.ci/run', 'utf8')).toContain('npm run --silent licenses || status=1')
    expect(readFileSync('.github/workflows/ci.yml', 'utf8')).toContain('npm run licenses')
  })
})
