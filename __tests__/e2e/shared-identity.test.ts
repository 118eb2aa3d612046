/**
 * A shared identity can't steer the loop once `state-secret` is set (issue 15,
 * finding 3). With `GITHUB_TOKEN`, every workflow of the repository writes
 * comments as the loop does; here another workflow under the loop's own login
 * rewrites the run's status comment with a record saying the run landed
 * (which would ring `done`) and a fresh claim time (which would lift the
 * deadlines). The committed bundle, with the secret set, must not believe it:
 * the MAC doesn't verify, so the run is handed back like an edited one, with
 * no `done` doorbell; an untouched run beside it lands with signed records.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { decode, encode } from '../../src/core/bookkeeping.js'
import { startWorld, LOOP_LOGIN, type World } from '../../sandbox/scenario.js'
import { hasEnded, outcome, recordOf, tickUntil } from '../../__fixtures__/e2e.js'

jest.setTimeout(240_000)
const REPO = 'acme/widgets'
const STATE_SECRET = 'e2e-state-secret-0123456789abcdef'

describe('with state-secret set, a record written by another workflow under the same login', () => {
  let world: World
  let forgedIssue = 0
  let honestIssue = 0
  let forged = false

  beforeAll(async () => {
    world = await startWorld({ repos: [REPO] })
    const w = world
    const plan = [['run', 'run', 'run', 'push:green' as const, 'idle' as const]]
    forgedIssue = w.addIssue(REPO, 'forged by a shared identity', plan as never)
    honestIssue = w.addIssue(REPO, 'left alone', plan as never)
    await tickUntil(w, () => hasEnded(w, REPO, forgedIssue) && hasEnded(w, REPO, honestIssue), {
      inputs: { 'state-secret': STATE_SECRET },
      maxTicks: 20,
      onTick: () => {
        const record = recordOf(w, REPO, forgedIssue)
        if (forged || !record || record.threads.length === 0) return
        const issue = w.store.issue(REPO, forgedIssue)
        const comment = issue.comments.find((c) => c.author === LOOP_LOGIN)
        if (!comment) return
        const now = new Date().toISOString()
        // Self-consistent, and signed with a guess at the secret.
        const body = `### afk-loop: landed\n\n${encode(
          {
            ...record,
            claimedAt: now,
            threads: record.threads.map((t) => ({ ...t, dispatchedAt: now })),
            terminal: {
              action: 'CLOSE_SUCCESS',
              reason: 'ci-green',
              at: now,
              ci: 'green',
              detail: null,
              interrupt: null
            },
            outbox: []
          },
          { secret: 'a-guess-at-the-secret', repo: REPO, issue: forgedIssue, issueId: issue.id }
        )}`
        // Written under the loop's own login, as any workflow with GITHUB_TOKEN can.
        w.store.editComment(issue, comment, LOOP_LOGIN, body)
        forged = true
      }
    })
  })
  afterAll(() => world.close())

  it('is not trusted: the run is handed back as unverified, and no done doorbell rings', () => {
    expect(forged).toBe(true)
    expect(outcome(world, REPO, forgedIssue)).toEqual({
      action: 'HAND_BACK',
      reason: 'record-unverified',
      labels: ['ready-for-human'],
      state: 'OPEN',
      doorbells: ['needs-human']
    })
    const body =
      world.store.issue(REPO, forgedIssue).comments.find((c) => c.author === LOOP_LOGIN)?.body ?? ''
    expect(body).toContain('MAC does not verify')
  })

  it('while a run nobody touched lands, its records signed with the secret', () => {
    expect(outcome(world, REPO, honestIssue)).toEqual({
      action: 'CLOSE_SUCCESS',
      reason: 'ci-green',
      labels: [],
      state: 'OPEN',
      doorbells: ['done']
    })
    const issue = world.store.issue(REPO, honestIssue)
    const body = issue.comments.find((c) => c.author === LOOP_LOGIN)?.body ?? ''
    expect(body).toMatch(/<!-- afk-loop:record v1 hmac-sha256=[0-9a-f]{64}\n/)
    const seal = { secret: STATE_SECRET, repo: REPO, issue: honestIssue, issueId: issue.id }
    expect(decode(body, seal).kind).toBe('ok')
    expect(decode(body, { ...seal, secret: 'another-secret-entirely' }).kind).toBe('unverified')
    expect(world.github.violations).toEqual([])
  })
})
