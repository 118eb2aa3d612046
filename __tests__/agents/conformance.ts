/**
 * One behavioural contract for every agent backend, run against each (T3
 * behind a loopback T3 server, the workflow backend behind a loopback GitHub):
 * what the loop relies on, nothing more.
 */
import { afterEach, describe, expect, it } from '@jest/globals'
import type { RepoRef } from '../../src/config.js'
import type { AgentPort, DispatchRequest } from '../../src/loop/ports.js'

export interface BackendUnderTest {
  agent: AgentPort
  repo: RepoRef
  /** Make the agent on a thread finish its turn. */
  finish(threadId: string, how: 'idle' | 'error'): Promise<void>
  /** Give a thread a status the backend has never heard of. */
  scramble(threadId: string): Promise<void>
  /** How many threads / runs exist. */
  created(): number
  /** The next mutating request reaches the server, but its answer is lost. */
  loseNextAnswer(): void
  /** The same backend with a wrong token / at an unreachable address. */
  withBadToken(): AgentPort
  unreachable(): Promise<AgentPort>
  errors: { badToken: RegExp; unreachable: RegExp }
  /** The backend documents no way to stop a thread: interrupt must then send nothing and change nothing. */
  noInterrupt?: boolean
  /** Requests the backend's server has seen so far (to prove an interrupt sent none). */
  requests?: () => number
  secrets: string[]
  close(): Promise<void>
}

export function conformance(name: string, start: () => Promise<BackendUnderTest>): void {
  describe(`${name} backend conformance`, () => {
    let backend: BackendUnderTest | null = null
    afterEach(async () => {
      await backend?.close()
      backend = null
    })
    const request = (b: BackendUnderTest, key: string, attempt = 0): DispatchRequest => ({
      repo: b.repo,
      issue: 7,
      title: 'Fix the parser',
      attempt,
      prompt: 'Please fix the parser.',
      key
    })
    const statusOf = async (b: BackendUnderTest, threadId: string) =>
      (await b.agent.snapshot([{ repo: b.repo, threadId }])).status(threadId)

    it('dispatches a thread that runs, then goes idle', async () => {
      const b = (backend = await start())
      const thread = await b.agent.dispatch(request(b, 'run-a0'))
      expect(await statusOf(b, thread.threadId)).toBe('running')
      await b.finish(thread.threadId, 'idle')
      expect(await statusOf(b, thread.threadId)).toBe('idle')
      expect(b.created()).toBe(1)
    })

    it('reports an agent that failed as error', async () => {
      const b = (backend = await start())
      const thread = await b.agent.dispatch(request(b, 'run-b0'))
      await b.finish(thread.threadId, 'error')
      expect(await statusOf(b, thread.threadId)).toBe('error')
    })

    it('says null, never error, for unknown statuses and missing threads', async () => {
      const b = (backend = await start())
      const thread = await b.agent.dispatch(request(b, 'run-c0'))
      await b.scramble(thread.threadId)
      expect(await statusOf(b, thread.threadId)).toBeNull()
      expect(await statusOf(b, '9999999')).toBeNull()
    })

    it('creates nothing new when a dispatch is repeated with the same key after its answer was lost', async () => {
      const b = (backend = await start())
      b.loseNextAnswer()
      await expect(b.agent.dispatch(request(b, 'run-d0'))).rejects.toThrow()
      expect(b.created()).toBe(1)
      const again = await b.agent.dispatch(request(b, 'run-d0'))
      expect(b.created()).toBe(1)
      expect(await statusOf(b, again.threadId)).toBe('running')
      expect((await b.agent.find({ repo: b.repo, key: 'run-d0' }))?.threadId).toBe(again.threadId)
      await b.agent.dispatch(request(b, 'run-d0'))
      expect(b.created()).toBe(1)
      expect(await b.agent.find({ repo: b.repo, key: 'run-unknown' })).toBeNull()
    })

    it('stops a thread on interrupt (or, where the backend has no way to, leaves it alone)', async () => {
      const b = (backend = await start())
      const thread = await b.agent.dispatch(request(b, 'run-e0'))
      const before = b.requests?.() ?? 0
      await b.agent.interrupt({ repo: b.repo, threadId: thread.threadId, key: 'run-e0' })
      if (b.noInterrupt) {
        expect(b.requests?.()).toBe(before)
        expect(await statusOf(b, thread.threadId)).toBe('running')
      } else {
        expect(await statusOf(b, thread.threadId)).not.toBe('running')
      }
    })

    it('explains a rejected token and an unreachable server without printing secrets', async () => {
      const b = (backend = await start())
      const bad = b.withBadToken()
      const badError = await bad.dispatch(request(b, 'run-f0')).then(
        () => null,
        (e: Error) => e
      )
      expect(badError?.message).toMatch(b.errors.badToken)
      const snapshot = await bad.snapshot([{ repo: b.repo, threadId: 'x' }])
      expect(snapshot.error).toMatch(b.errors.badToken)
      expect(snapshot.status('x')).toBeNull()
      const down = await b.unreachable()
      const downError = await down.dispatch(request(b, 'run-g0')).then(
        () => null,
        (e: Error) => e
      )
      expect(downError?.message).toMatch(b.errors.unreachable)
      for (const secret of b.secrets) {
        expect(`${badError?.message} ${downError?.message} ${snapshot.error}`).not.toContain(secret)
      }
    })
  })
}
