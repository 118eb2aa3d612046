/**
 * The committed bundle, tick after tick, against the loopback GitHub and T3:
 * the pilot's story and its variants, asserted on the sandbox's final state.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { startWorld, type PlanStep, type World } from '../../sandbox/scenario.js'
import { hasEnded, tickUntil } from '../../__fixtures__/e2e.js'

jest.setTimeout(180_000)
const REPO = 'acme/widgets'
let world: World | null = null
afterEach(async () => {
  await world?.close()
  world = null
})

describe('the bundle end to end', () => {
  it('lands the pilot story: red, fix forward, green — two dispatches, one doorbell', async () => {
    world = await startWorld({ repos: [REPO] })
    const w = world
    const n = w.addIssue(REPO, 'Parser drops trailing commas', [
      ['run', 'push:red', 'idle'],
      ['run', 'push:green', 'idle']
    ] satisfies PlanStep[][])
    const { decisions } = await tickUntil(w, () => hasEnded(w, REPO, n))
    expect(decisions[0]).toBe(`#${n} CLAIM claimed`)
    expect(decisions).toContain(`#${n} FIX_FORWARD ci-red`)
    expect(decisions.at(-1)).toBe(`#${n} CLOSE_SUCCESS ci-green`)
    const issue = w.store.issue(REPO, n)
    expect(issue.labels).toEqual([])
    expect(issue.state).toBe('OPEN') // pull-request delivery: the merge closes it
    expect(w.t3.counts['thread.create']).toBe(2)
    expect(w.doorbells.map((d) => d.body.kind)).toEqual(['done'])
    expect(w.github.violations).toEqual([])
  })
})
