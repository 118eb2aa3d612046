/**
 * Issue 15, finding 7, through the committed bundle: an issue that leaves
 * the loop's view mid-run must not leave its agent running. Three runs in
 * flight on a T3 server; then one issue is transferred to a repository the
 * loop's token can't read, one is deleted, and one is handed back by a
 * maintainer who then carries on in the same T3 thread. The next tick
 * interrupts the first two agents once each (and a tick after that sends
 * nothing more); the human's thread is never interrupted again.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { runAction, type ActionRun } from '../../sandbox/action-process.js'
import { startWorld, LOOP_LOGIN, T3_TOKEN, type World } from '../../sandbox/scenario.js'
import { recordOf } from '../../__fixtures__/e2e.js'

jest.setTimeout(240_000)
const REPO = 'acme/widgets'
const SECRET = 'acme/secret'

describe('an issue transferred or deleted mid-run (T3)', () => {
  let world: World
  const threads = { moved: '', deleted: '', handedBack: '' }
  const issues = { moved: 0, deleted: 0, handedBack: 0 }
  const ticks: ActionRun[] = []

  const tick = async (): Promise<ActionRun> => {
    const run = await runAction(world.inputs(), world.env(), 120_000)
    if (run.code !== 0) throw new Error(`tick failed:\n${run.stdout.slice(-3000)}\n${run.stderr}`)
    ticks.push(run)
    return run
  }
  /** Interrupt commands T3 received, by thread. */
  const interrupts = (): Record<string, number> => {
    const out: Record<string, number> = {}
    for (const r of world.t3.received) {
      const body = r.body as { type?: string; threadId?: string }
      if (body.type === 'thread.turn.interrupt' && body.threadId)
        out[body.threadId] = (out[body.threadId] ?? 0) + 1
    }
    return out
  }

  beforeAll(async () => {
    world = await startWorld({ repos: [REPO] })
    // A repository the loop's token can't see (like a GITHUB_TOKEN, or an App not installed there).
    world.store.addRepo(SECRET)
    world.store.visible.set(LOOP_LOGIN, new Set([REPO]))
    const stall = [['run', 'stall']] as never
    issues.moved = world.addIssue(REPO, 'moves to a private repository', stall)
    issues.deleted = world.addIssue(REPO, 'is deleted', stall)
    issues.handedBack = world.addIssue(REPO, 'is handed back', stall)
    await tick()
    await world.advance()
    for (const name of ['moved', 'deleted', 'handedBack'] as const) {
      threads[name] = recordOf(world, REPO, issues[name])?.threads[0]?.id ?? ''
      expect(world.t3.threads.get(threads[name])?.session?.status).toBe('running')
    }
    await tick() // every agent at work: nothing to stop
    expect(interrupts()).toEqual({})
  })

  afterAll(async () => {
    await world?.close()
  })

  it('interrupts the agents of the transferred and the deleted issue once, writing and ringing nothing', async () => {
    world.store.transferIssue(REPO, issues.moved, SECRET)
    world.store.deleteIssue(REPO, issues.deleted)
    // The maintainer hands the third back by hand: the watcher releases it (its record is in view).
    world.store.addLabel(
      world.store.repo(REPO),
      world.store.issue(REPO, issues.handedBack),
      'ready-for-human',
      'maintainer'
    )
    world.github.resetCounts()
    const run = await tick()
    expect(interrupts()).toEqual({
      [threads.moved]: 1,
      [threads.deleted]: 1,
      [threads.handedBack]: 1
    })
    for (const name of ['moved', 'deleted'] as const) {
      expect(world.t3.threads.get(threads[name])?.latestTurn?.state).toBe('interrupted')
      expect(run.summary).toContain(`thread ${threads[name]} interrupted`)
    }
    expect(run.summary).toContain(`${REPO}#${issues.moved}: the issue is gone from view`)
    expect(run.summary).toContain(`${REPO}#${issues.deleted}: the issue was deleted`)
    // Nothing written for them (their issues are out of view); only the release wrote.
    const rows = JSON.parse(run.outputs.runs ?? '[]') as { issue: number; action: string }[]
    expect(rows.map((r) => `${r.issue} ${r.action}`)).toEqual([`${issues.handedBack} RELEASE`])
    expect(world.doorbells).toEqual([])
    expect(world.github.violations).toEqual([])
  })

  it('a second tick sends nothing more', async () => {
    const before = world.t3.received.length
    await tick()
    expect(world.t3.received.slice(before)).toEqual([])
    expect(Object.values(interrupts())).toEqual([1, 1, 1])
  })

  it("the handed-back issue's thread, running again on a human's turn, is never interrupted", async () => {
    const response = await fetch(`${world.t3.url}/api/orchestration/dispatch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${T3_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'thread.turn.start',
        commandId: 'maintainer-turn',
        threadId: threads.handedBack,
        message: {
          messageId: 'maintainer-msg',
          role: 'user',
          text: 'Let me steer.',
          attachments: []
        },
        runtimeMode: 'full-access',
        interactionMode: 'default',
        createdAt: new Date().toISOString()
      })
    })
    expect(response.status).toBe(200)
    await world.advance()
    expect(world.t3.threads.get(threads.handedBack)?.session?.status).toBe('running')
    for (let i = 0; i < 2; i++) {
      world.github.resetCounts()
      await tick()
      // Asked GitHub where it is (one REST read), found it at home, left it alone.
      expect(
        world.github.log.filter((l) => l.includes(`/issues/${issues.handedBack}`))
      ).toHaveLength(1)
      await world.advance()
    }
    expect(world.t3.threads.get(threads.handedBack)?.session?.status).toBe('running')
    expect(interrupts()[threads.handedBack]).toBe(1)
  })
})

describe('an issue transferred out of view mid-run (agent workflow)', () => {
  it('cancels its agent workflow run once; nothing else is cancelled', async () => {
    const world = await startWorld({ repos: [REPO], agent: 'workflow' })
    try {
      world.store.addRepo(SECRET)
      world.store.visible.set(LOOP_LOGIN, new Set([REPO]))
      const stall = [['run', 'stall']] as never
      const moved = world.addIssue(REPO, 'moves to a private repository', stall)
      const stays = world.addIssue(REPO, 'stays', stall)
      const tick = async () => {
        const run = await runAction(world.inputs(), world.env(), 120_000)
        if (run.code !== 0) throw new Error(`tick failed:\n${run.stdout.slice(-3000)}`)
        return run
      }
      await tick()
      await world.advance()
      const runs = world.store.repo(REPO).workflowRuns
      expect(runs.map((r) => r.status)).toEqual(['in_progress', 'in_progress'])
      const runOf = (n: number) => runs.find((r) => r.inputs.issue === String(n))
      world.store.transferIssue(REPO, moved, SECRET)
      const run = await tick()
      expect(runOf(moved)).toMatchObject({ status: 'completed', conclusion: 'cancelled' })
      expect(runOf(stays)?.status).toBe('in_progress')
      expect(run.summary).toContain(`${REPO}#${moved}: the issue is gone from view`)
      const cancels = () => world.github.log.filter((l) => l.endsWith('/cancel')).length
      expect(cancels()).toBe(1)
      await tick()
      expect(cancels()).toBe(1)
      expect(world.github.violations).toEqual([])
    } finally {
      await world.close()
    }
  })
})
