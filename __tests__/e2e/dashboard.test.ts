/**
 * The dashboard issue (`dashboard: true`), end to end through the bundle in
 * the sandbox: created once with its label, rewritten only when its text
 * changes (a quiet tick writes nothing and reads one query more than
 * without it), both checkboxes honoured, and a tick by someone outside
 * `trusted-associations` ignored, undone and noted in the job summary. Never
 * a second one: one opened by an earlier release (no label) is labelled
 * once, a closed one is reopened with its switches, and on a GitHub
 * Enterprise Cloud-like server (createdBy matching no app) behind 25 other
 * issues by the same login it is still found.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { LOOP_LOGIN, startWorld, type World } from '../../sandbox/scenario.js'
import { hasEnded, outcome, recordOf, tickUntil } from '../../__fixtures__/e2e.js'
import { runAction } from '../../sandbox/action-process.js'
import {
  DASHBOARD_MARKER,
  emptyDashboardRecord,
  renderDashboard
} from '../../src/core/dashboard.js'
import { DASHBOARD_LABEL } from '../../src/github/dashboard.js'

jest.setTimeout(240_000)
const REPO = 'acme/widgets'
let world: World | null = null
afterEach(async () => {
  await world?.close()
  world = null
})

const writes = (w: World) => w.github.counts['graphql-write'] + w.github.counts['rest-write']
const reads = (w: World) => w.github.counts['graphql-read']
/** The points a tick spent, as its job summary says. */
const spent = (summary: string): number => {
  const m = /GitHub GraphQL points: (\d+) spent this tick/.exec(summary)
  if (!m) throw new Error(`no points in the summary:\n${summary}`)
  return Number(m[1])
}

/** The loop's dashboard issues in the repository. */
const dashboards = (w: World) =>
  w.store
    .repo(REPO)
    .issues.filter((i) => i.author === LOOP_LOGIN && i.body.includes(DASHBOARD_MARKER))

const dashboard = (w: World) => {
  const all = dashboards(w)
  expect(all).toHaveLength(1)
  return all[0]!
}

async function tick(w: World, inputs: Record<string, string> = {}) {
  const run = await runAction(w.inputs({ dashboard: 'true', ...inputs }), w.env(), 60_000)
  if (run.code !== 0) throw new Error(`tick failed:\n${run.stdout.slice(-3000)}\n${run.stderr}`)
  return run
}

/** A maintainer ticks or unticks a box by editing the body, as GitHub's task list does. */
function setBox(w: World, box: string, on: boolean, by: string) {
  const issue = dashboard(w)
  const from = `- [${on ? ' ' : 'x'}] **${box}**`
  expect(issue.body).toContain(from)
  w.store.editIssueBody(issue, by, issue.body.replace(from, `- [${on ? 'x' : ' '}] **${box}**`))
}

describe('the dashboard issue, end to end', () => {
  it('is created once, lists runs and endings, and a quiet tick writes nothing', async () => {
    world = await startWorld({ repos: [REPO] })
    const w = world

    // Off (the default): a quiet tick reads and writes what it always did.
    await runAction(w.inputs(), w.env(), 60_000)
    const offReads = reads(w)
    const beforeOff = writes(w)
    const off = await runAction(w.inputs(), w.env(), 60_000)
    const quietOff = {
      reads: reads(w) - offReads,
      writes: writes(w) - beforeOff,
      points: spent(off.summary)
    }
    expect(quietOff.writes).toBe(0)
    expect(dashboards(w)).toHaveLength(0)

    // A dry run plans the dashboard and writes nothing.
    const dry = await tick(w, { 'dry-run': 'true' })
    expect(dry.stdout).toContain(`dry run: would ${REPO}: create the dashboard issue`)
    expect(writes(w)).toBe(beforeOff)
    expect(dashboards(w)).toHaveLength(0)

    // On: the first tick creates it.
    const first = await tick(w)
    expect(first.stdout).toContain(`Dashboard issue ${REPO}: created.`)
    const created = dashboard(w)
    expect(created.title).toBe('afk-loop dashboard')
    expect(created.labels).toEqual([DASHBOARD_LABEL])
    expect(created.body).toContain('- [ ] **Pause claiming**')
    expect(created.body).toContain('- [ ] **Hand everything back**')
    expect(created.body).toContain('### Runs in flight (0)')
    expect(created.body).toMatch(/The last tick spent \d+ GitHub GraphQL points?\./)

    // A second quiet tick: no write at all, one read more than with the dashboard off.
    const r0 = reads(w)
    const w0 = writes(w)
    const quiet = await tick(w)
    expect(writes(w) - w0).toBe(0)
    expect(reads(w) - r0).toBe(quietOff.reads + 1)
    expect(spent(quiet.summary)).toBe(quietOff.points + 1)
    expect(quiet.stdout).not.toContain('Dashboard issue')
    expect(dashboard(w).id).toBe(created.id)

    // A run: in flight on the dashboard, then among the endings with its reason.
    const n = w.addIssue(REPO, 'Fix it', [['run', 'push:green', 'idle']])
    await tickUntil(w, () => (recordOf(w, REPO, n)?.threads.length ?? 0) > 0, {
      inputs: { dashboard: 'true' }
    })
    expect(dashboard(w).body).toContain('### Runs in flight (1)')
    expect(dashboard(w).body).toMatch(new RegExp(`\\| \\[#${n}\\]\\([^)]*\\) \\| \\w`))
    await tickUntil(w, () => hasEnded(w, REPO, n), { inputs: { dashboard: 'true' } })
    expect(outcome(w, REPO, n).action).toBe('CLOSE_SUCCESS')
    const body = dashboard(w).body
    expect(body).toContain('### Runs in flight (0)')
    expect(body).toMatch(new RegExp(`\\| #${n} \\| CLOSE_SUCCESS \\| [\\w-]+ \\|`))
    expect(dashboards(w)).toHaveLength(1)
  })

  it('honours both checkboxes when a trusted maintainer ticks them', async () => {
    world = await startWorld({ repos: [REPO] })
    const w = world
    w.store.permissions.set(`${REPO}:maint`.toLowerCase(), 'write')
    await tick(w)

    // Pause claiming: a ready issue stays untouched while it is ticked.
    setBox(w, 'Pause claiming', true, 'maint')
    const waiting = w.addIssue(REPO, 'Later', [['run', 'push:green', 'idle']])
    const paused = await tick(w)
    expect(JSON.parse(paused.outputs.runs ?? '[]')).toEqual([])
    expect(w.store.issue(REPO, waiting).labels).toEqual(['ready-for-agent'])
    expect(dashboard(w).body).toContain('- [x] **Pause claiming**')
    expect(dashboard(w).body).toContain('Paused by @maint')
    // Acknowledged once: the next tick writes nothing.
    const w0 = writes(w)
    await tick(w)
    expect(writes(w)).toBe(w0)
    expect(w.store.issue(REPO, waiting).labels).toEqual(['ready-for-agent'])

    // Unticked: claiming resumes.
    setBox(w, 'Pause claiming', false, 'maint')
    await tickUntil(w, () => (recordOf(w, REPO, waiting)?.threads.length ?? 0) > 0, {
      inputs: { dashboard: 'true' }
    })
    expect(dashboard(w).body).not.toContain('Paused by')

    // Hand everything back: the run in flight is handed back (as mode: stop).
    setBox(w, 'Hand everything back', true, 'maint')
    const another = w.addIssue(REPO, 'Not now', [['run', 'push:green', 'idle']])
    await tickUntil(w, () => hasEnded(w, REPO, waiting), { inputs: { dashboard: 'true' } })
    expect(outcome(w, REPO, waiting)).toMatchObject({
      action: 'HAND_BACK',
      reason: 'emergency-stop',
      labels: ['ready-for-human']
    })
    expect(w.store.issue(REPO, another).labels).toEqual(['ready-for-agent'])
    expect(dashboard(w).body).toMatch(
      new RegExp(`\\| #${waiting} \\| HAND_BACK \\| emergency-stop \\|`)
    )
    expect(dashboard(w).body).toContain('- [x] **Hand everything back**')
  })

  it('ignores a tick by someone outside trusted-associations, undoes it and notes it', async () => {
    world = await startWorld({ repos: [REPO] })
    const w = world
    // A collaborator with write access, but only owners are trusted here.
    w.store.permissions.set(`${REPO}:helper`.toLowerCase(), 'write')
    const inputs = { 'trusted-associations': 'OWNER' }
    await tick(w, inputs)

    setBox(w, 'Pause claiming', true, 'helper')
    const ready = w.addIssue(REPO, 'Go', [['run', 'stall']])
    const run = await tick(w, inputs)
    expect(run.summary).toContain(
      `Ignored on the dashboard of ${REPO}: "Pause claiming" was ticked in an edit by @helper (COLLABORATOR), not in trusted-associations.`
    )
    // Not paused: the ready issue was claimed.
    expect(recordOf(w, REPO, ready)).not.toBeNull()
    const body = dashboard(w).body
    expect(body).toContain('- [ ] **Pause claiming**')
    expect(body).toContain('Ignored: @helper changed "Pause claiming"')
    expect(dashboard(w).editor).toBe(LOOP_LOGIN)

    // The owner's tick counts.
    setBox(w, 'Pause claiming', true, 'acme')
    await tick(w, inputs)
    expect(dashboard(w).body).toContain('Paused by @acme')
  })

  it('labels a dashboard an earlier release opened, once, and never opens a second', async () => {
    world = await startWorld({ repos: [REPO] })
    const w = world
    // What the previous release left: the loop's issue with the marker, no label.
    const old = w.store.addIssue(REPO, {
      title: 'afk-loop dashboard',
      body: renderDashboard({
        repo: REPO,
        record: emptyDashboardRecord(REPO),
        runs: [],
        pointsSpent: 3,
        secret: null
      }),
      author: LOOP_LOGIN,
      authorAssociation: 'NONE'
    })
    const migrated = await tick(w)
    expect(migrated.stdout).toContain(`Dashboard issue ${REPO}: updated and labelled.`)
    expect(dashboard(w).number).toBe(old.number)
    expect(old.labels).toEqual([DASHBOARD_LABEL])
    // Labelled once: the label isn't added again, whatever the next ticks write.
    await tick(w)
    const w0 = writes(w)
    const quiet = await tick(w)
    expect(writes(w)).toBe(w0)
    expect(quiet.stdout).not.toContain('Dashboard issue')
    expect(old.events.filter((e) => e.type === 'LabeledEvent')).toHaveLength(1)
    expect(dashboard(w).number).toBe(old.number)
  })

  it('reopens a closed dashboard with its switches instead of opening another', async () => {
    world = await startWorld({ repos: [REPO] })
    const w = world
    w.store.permissions.set(`${REPO}:maint`.toLowerCase(), 'write')
    await tick(w)
    setBox(w, 'Pause claiming', true, 'maint')
    await tick(w)
    const issue = dashboard(w)
    w.store.closeIssue(issue, 'maint')
    const waiting = w.addIssue(REPO, 'Later', [['run', 'push:green', 'idle']])
    const reopened = await tick(w)
    expect(reopened.stdout).toMatch(
      new RegExp(`Dashboard issue ${REPO}: (updated and )?reopened\\.`)
    )
    expect(dashboard(w).id).toBe(issue.id)
    expect(issue.state).toBe('OPEN')
    // Still paused: closing the dashboard doesn't undo its switches.
    expect(issue.body).toContain('Paused by @maint')
    expect(w.store.issue(REPO, waiting).labels).toEqual(['ready-for-agent'])
  })

  it('on a GHEC-like server, behind 25 issues by the same login, is found by its label every tick', async () => {
    world = await startWorld({ repos: [REPO], github: { createdByMatchesNoApp: true } })
    const w = world
    for (let i = 0; i < 25; i++)
      w.store.addIssue(REPO, { title: `report ${i}`, author: LOOP_LOGIN, body: 'another workflow' })
    const first = await tick(w)
    expect(first.stdout).toContain(`Dashboard issue ${REPO}: created.`)
    await tick(w)
    const w0 = writes(w)
    const quiet = await tick(w)
    expect(writes(w)).toBe(w0)
    expect(quiet.stdout).not.toContain('Dashboard issue')
    expect(dashboards(w)).toHaveLength(1)
  })
})
