/**
 * `mode: check` through the committed bundle against the loopback GitHub and
 * T3 Code server: a working setup passes every line, each broken piece fails
 * its own line with what to do — and nothing is written in any case (no
 * GitHub state changes, no write GitHub applied, no T3 command).
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { readFileSync } from 'node:fs'
import {
  startWorld,
  LOOP_LOGIN,
  LOOP_TOKEN,
  type World,
  type WorldOptions
} from '../../sandbox/scenario.js'
import { runAction, type ActionRun } from '../../sandbox/action-process.js'
import { deadUrl } from '../../__fixtures__/receiver.js'
import { emptyDashboardRecord, renderDashboard } from '../../src/core/dashboard.js'
import { DASHBOARD_LABEL } from '../../src/github/dashboard.js'

jest.setTimeout(120_000)
const REPO = 'acme/widgets'
const AGENT_WORKFLOW = readFileSync('examples/afk-agent.yml', 'utf8')
let world: World | null = null
async function closeWorld(): Promise<void> {
  await world?.close()
  world = null
}
afterEach(closeWorld)

/** Everything a check could change, to compare before and after. */
function state(w: World): string {
  const repo = w.store.repo(REPO)
  return JSON.stringify({
    labels: repo.labels,
    issues: repo.issues,
    pulls: repo.pulls,
    runs: repo.workflowRuns,
    threads: [...w.t3.threads.keys()]
  })
}

async function check(
  options: Omit<WorldOptions, 'repos'> = {},
  inputs: Record<string, string> = {},
  setup: (w: World) => void | Promise<void> = () => {}
): Promise<{ run: ActionRun; w: World; lines: string[] }> {
  world = await startWorld({
    repos: [REPO],
    ...options,
    github: {
      files: { [`${REPO}/.github/workflows/afk-agent.yml`]: AGENT_WORKFLOW },
      ...options.github
    }
  })
  const w = world
  for (const label of ['ready-for-agent', 'agent-in-progress', 'ready-for-human'])
    w.store.ensureLabel(w.store.repo(REPO), label)
  w.addIssue(REPO, 'Ready', [['run']])
  await setup(w)
  const before = state(w)
  w.github.resetCounts()
  const run = await runAction(
    w.inputs({ mode: 'check', 't3-model': 'codex:gpt-5-codex', ...inputs }),
    { ...w.env(), GITHUB_REPOSITORY: REPO }
  )
  // Nothing written, whatever the outcome.
  expect(state(w)).toBe(before)
  expect(w.github.writes).toBe(0)
  expect(Object.entries(w.t3.counts).filter(([k, n]) => k.includes('.') && n > 0)).toEqual([])
  const lines = run.stdout
    .split('\n')
    .map((l) => l.replace(/^::(error|warning)::/, ''))
    .filter((l) => /^(PASS|FAIL|WARN|SKIP) /.test(l))
  return { run, w, lines }
}

const failing = (lines: string[]) => lines.filter((l) => l.startsWith('FAIL'))

describe('mode: check', () => {
  it('passes every line for a working T3 setup, and writes nothing', async () => {
    const { run, lines } = await check()
    expect(failing(lines)).toEqual([])
    expect(run.code).toBe(0)
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PASS acme\/widgets: reach/),
        expect.stringMatching(/^PASS acme\/widgets: pull-requests: read/),
        expect.stringMatching(/^PASS acme\/widgets: issues: write: the token may/),
        expect.stringMatching(/^PASS acme\/widgets: labels: `ready-for-agent`/),
        expect.stringMatching(/^PASS identity: the loop acts as `afk-loop\[bot\]`/),
        expect.stringMatching(/^PASS agent: T3 Code server \(t3-url\): reachable/),
        expect.stringMatching(
          /^PASS acme\/widgets: agent: project proj-acme-widgets, model codex:gpt-5-codex \(t3-model\)/
        ),
        expect.stringMatching(/^PASS schedule \(acme\/widgets\): a public repository/)
      ])
    )
    expect(run.outputs.summary).toMatch(/^afk-loop \(check\): \d+ passed, 0 failed/)
    expect(run.outputs.errors).toBe('0')
    expect(run.summary).toContain('| ✅ pass | acme/widgets: reach |')
  })

  it('passes for a working agent-workflow setup', async () => {
    const { run, lines } = await check({ agent: 'workflow' })
    expect(failing(lines)).toEqual([])
    expect(run.code).toBe(0)
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PASS acme\/widgets: actions: write: the token may dispatch/),
        expect.stringMatching(
          /^PASS acme\/widgets: agent: \.github\/workflows\/afk-agent\.yml on main takes issue, prompt and run_key/
        )
      ])
    )
  })

  it('verifies copilot-token for the Copilot backend, and names an installation token GitHub refuses', async () => {
    const { run, lines, w } = await check({ agent: 'copilot' })
    expect(failing(lines)).toEqual([])
    expect(run.code).toBe(0)
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PASS agent: GitHub Copilot cloud agent .*accepted copilot-token/),
        expect.stringMatching(/^PASS acme\/widgets: agent: copilot-token may read its agent tasks/)
      ])
    )
    expect(w.agentTasks.created).toBe(0)
    await w.close()
    // A token the loop's own check can't tell from a user token by its form: GitHub's 403.
    const refused = await check({ agent: 'copilot' }, {}, (x) => {
      x.store.addToken('gho_app_installation_like', 'some-app', { bot: true })
    })
    expect(refused.run.code).toBe(0)
    world = refused.w
    const wrong = await runAction(
      refused.w.inputs({ mode: 'check', 'copilot-token': 'gho_app_installation_like' }),
      { ...refused.w.env(), GITHUB_REPOSITORY: REPO }
    )
    expect(wrong.stdout).toMatch(
      /FAIL acme\/widgets: agent: .*HTTP 403: GitHub App installation access tokens are not supported.*must be a user token/
    )
    // Masked the moment it is read, and named nowhere else.
    expect(wrong.stdout).toContain('::add-mask::gho_app_installation_like')
    expect(wrong.stdout.replace('::add-mask::gho_app_installation_like', '')).not.toContain(
      'gho_app_installation_like'
    )
  })

  it('fails a missing permission, naming it, and the labels it then cannot create', async () => {
    const { run, lines } = await check(
      {
        agent: 'workflow',
        github: {
          tokenPermissions: {
            [LOOP_TOKEN]: {
              issues: 'read',
              pull_requests: 'read',
              contents: 'read',
              checks: 'read',
              statuses: 'read',
              actions: 'read'
            }
          }
        }
      },
      {},
      (w) => {
        w.store.repo(REPO).labels = w.store
          .repo(REPO)
          .labels.filter((l) => l.name !== 'ready-for-human')
      }
    )
    expect(run.code).not.toBe(0)
    expect(failing(lines)).toEqual([
      expect.stringMatching(
        /^FAIL acme\/widgets: issues: write: GitHub refused \(HTTP 403, it accepts issues: write\).*Grant `issues: write`/
      ),
      expect.stringMatching(
        /^FAIL acme\/widgets: actions: write: GitHub refused \(HTTP 403, it accepts actions: write\)/
      ),
      expect.stringMatching(
        /^FAIL acme\/widgets: labels: `ready-for-human` missing, and the token may not create labels/
      )
    ])
    expect(run.outputs.errors).toBe('3')
    expect(run.stdout).toContain('::error::afk-loop check: 3 check(s) failed')
  })

  it('fails a read the token lacks, naming it, while reach and the other reads pass', async () => {
    const { run, lines } = await check({
      github: {
        tokenPermissions: {
          [LOOP_TOKEN]: { issues: 'write', contents: 'read', checks: 'read', statuses: 'read' }
        }
      }
    })
    expect(run.code).not.toBe(0)
    expect(failing(lines)).toEqual([
      expect.stringMatching(
        /^FAIL acme\/widgets: pull-requests: read: GitHub refused the read \(Resource not accessible by integration\)\. Grant `pull-requests: read`\./
      )
    ])
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PASS acme\/widgets: reach/),
        expect.stringMatching(/^PASS acme\/widgets: checks: read/)
      ])
    )
  })

  it('passes a missing label the token may create (the first mode: on tick creates it)', async () => {
    const { run, lines } = await check({}, {}, (w) => {
      const repo = w.store.repo(REPO)
      repo.labels = repo.labels.filter((l) => l.name === 'ready-for-agent')
    })
    expect(run.code).toBe(0)
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^PASS acme\/widgets: labels: `agent-in-progress`, `ready-for-human` missing; the first `mode: on` tick creates them/
        )
      ])
    )
  })

  it('fails when the T3 server is down', async () => {
    const url = (await deadUrl()).replace(/\/hook$/, '')
    const { run, lines } = await check({}, { 't3-url': url })
    expect(run.code).not.toBe(0)
    expect(failing(lines)).toEqual([
      expect.stringMatching(/^FAIL agent: T3 Code server \(t3-url\): .*unreachable/)
    ])
  })

  it('fails when the T3 server rejects the token, without printing it', async () => {
    const { run, lines } = await check({}, { 't3-token': 'not-the-token' })
    expect(run.code).not.toBe(0)
    expect(failing(lines)).toEqual([expect.stringMatching(/^FAIL agent: .*t3-token was rejected/)])
    const printed = run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'))
    expect(printed.join('\n')).not.toContain('not-the-token')
  })

  it('fails a repository with no T3 project, and a project without a model', async () => {
    const noProject = await check({}, { 't3-projects': '' }, (w) => {
      w.t3.projects.length = 0
    })
    expect(failing(noProject.lines)).toEqual([
      expect.stringMatching(/^FAIL acme\/widgets: agent: no T3 project matches acme\/widgets/)
    ])
    await closeWorld()
    const noModel = await check({}, { 't3-model': '' }, (w) => {
      for (const project of w.t3.projects) project.defaultModelSelection = null
    })
    expect(failing(noModel.lines)).toEqual([
      expect.stringMatching(
        /^FAIL acme\/widgets: agent: no model to start the agent with: set the t3-model input/
      )
    ])
  })

  it('fails an agent workflow without the inputs or the run-name the loop needs', async () => {
    const broken = AGENT_WORKFLOW.replace(/^run-name: .*$/m, 'run-name: agent at work').replace(
      /^ {6}run_key:\n(?: {8}.*\n)+/m,
      ''
    )
    expect(broken).not.toContain('run_key:')
    const { run, lines } = await check({
      agent: 'workflow',
      github: { files: { [`${REPO}/.github/workflows/afk-agent.yml`]: broken } }
    })
    expect(run.code).not.toBe(0)
    expect(failing(lines)).toEqual([
      expect.stringMatching(
        /^FAIL acme\/widgets: agent: .*lacks the input `run_key`; its run-name is `agent at work`; set `run-name: afk \$\{\{ inputs\.run_key \}\}`/
      )
    ])
  })

  it('warns about the shared github-actions[bot] identity and a schedule near its 60 days', async () => {
    const { run, lines } = await check({}, {}, (w) => {
      w.store.addToken(LOOP_TOKEN, 'github-actions', { bot: true })
      for (const c of w.store.repo(REPO).commits.values())
        c.committedDate = new Date(Date.now() - 55 * 86_400_000).toISOString()
    })
    expect(run.code).toBe(0)
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^WARN identity: the loop acts as `github-actions\[bot\]`/),
        expect.stringMatching(
          /^WARN schedule \(acme\/widgets\): a public repository.*about 5 day\(s\) left/
        )
      ])
    )
  })

  it('sends each doorbell a signed test delivery only when asked, and fails one that does not answer', async () => {
    const quiet = await check()
    expect(quiet.w.doorbells).toEqual([])
    expect(quiet.lines.some((l) => l.includes('doorbell'))).toBe(false)
    await closeWorld()

    const asked = await check({}, { 'check-notify': 'true' })
    expect(asked.run.code).toBe(0)
    expect(asked.lines).toContain('PASS doorbell: webhook: accepted a signed test delivery.')
    expect(asked.w.doorbells).toHaveLength(1)
    const [bell] = asked.w.doorbells
    expect(bell?.body).toMatchObject({ schema: 'afk-loop.doorbell-test/v1', kind: 'test' })
    const raw = JSON.stringify(bell?.body)
    const { signature } = await import('../../src/notify/index.js')
    expect(bell?.headers['x-afk-signature']).toBe(signature('sandbox-secret', raw))
    await closeWorld()

    const dead = (await deadUrl()).replace(/\/hook$/, '/doorbell')
    const down = await check({}, { 'check-notify': 'true', 'notify-webhook-url': dead })
    expect(down.run.code).not.toBe(0)
    expect(failing(down.lines)).toEqual([
      expect.stringMatching(/^FAIL doorbell: webhook: webhook notification could not be sent/)
    ])
  })

  it('with dashboard: true, finds the dashboard (with its URL) and its label, writing nothing', async () => {
    const { run, lines, w } = await check({}, { dashboard: 'true' }, (x) => {
      x.store.addIssue(REPO, {
        title: 'afk-loop dashboard',
        body: renderDashboard({
          repo: REPO,
          record: emptyDashboardRecord(REPO),
          runs: [],
          pointsSpent: 2,
          secret: null
        }),
        author: LOOP_LOGIN,
        authorAssociation: 'NONE',
        labels: [DASHBOARD_LABEL]
      })
    })
    expect(run.code).toBe(0)
    const number = w.store.repo(REPO).issues.find((i) => i.labels.includes(DASHBOARD_LABEL))?.number
    expect(lines).toEqual(
      expect.arrayContaining([
        `PASS acme/widgets: dashboard: #${number} (https://github.com/acme/widgets/issues/${number}); each tick rewrites it only when its text changes (the token may).`,
        'PASS acme/widgets: dashboard label: `afk-loop-dashboard` exists.'
      ])
    )
  })

  it('with dashboard: true and none yet, says the first tick opens it, or fails without issues: write', async () => {
    const plain = await check()
    expect(plain.lines.some((l) => l.includes('dashboard'))).toBe(false)
    await closeWorld()

    const fresh = await check({}, { dashboard: 'true' })
    expect(fresh.run.code).toBe(0)
    expect(fresh.lines).toEqual(
      expect.arrayContaining([
        'PASS acme/widgets: dashboard: none yet: the first tick with `dashboard: true` opens it (the token may).',
        'PASS acme/widgets: dashboard label: `afk-loop-dashboard` missing; created with the dashboard (the token may).'
      ])
    )
    await closeWorld()

    const readOnly = await check(
      {
        github: {
          tokenPermissions: {
            [LOOP_TOKEN]: {
              issues: 'read',
              pull_requests: 'read',
              contents: 'read',
              checks: 'read',
              statuses: 'read'
            }
          }
        }
      },
      { dashboard: 'true' }
    )
    expect(readOnly.run.code).not.toBe(0)
    expect(failing(readOnly.lines)).toEqual(
      expect.arrayContaining([
        'FAIL acme/widgets: dashboard: none yet; the first tick would open it, and the token may not: grant `issues: write`.',
        expect.stringMatching(
          /^FAIL acme\/widgets: dashboard label: `afk-loop-dashboard` missing, and the token may not create labels/
        )
      ])
    )
  })
})
