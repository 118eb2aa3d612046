/**
 * The benchmark's request-count targets, enforced on every test run (small N,
 * no latency: counts don't depend on the network). `npm run bench` measures
 * the full grid and the wall times; this keeps a regression in what a tick
 * asks of GitHub from landing.
 */
import { describe, expect, it, jest } from '@jest/globals'
import { measure, readTarget } from '../sandbox/bench.js'

jest.setTimeout(180_000)

describe('what a tick of the bundle costs', () => {
  it.each([
    { runs: 1, repos: 1 },
    { runs: 101, repos: 1 },
    { runs: 20, repos: 10 }
  ])(
    'N=$runs in R=$repos: one page per 100 runs per repository, one snapshot, no writes; one write per changed run',
    async (bench) => {
      const result = await measure(bench, { latencyMs: 0, samples: 2, changing: true })
      const u = result.unchanged
      expect(u.graphqlReads + u.restReads + u.agentReads).toBeLessThanOrEqual(readTarget(bench))
      expect(u.agentReads).toBe(1)
      expect(u.writes).toBe(0)
      expect(result.stableCounts).toBe(true)
      const changing = result.changing
      expect(changing?.changed).toBe(Math.ceil(bench.runs / 10))
      expect(changing?.writes).toBe(changing?.changed)
      expect(changing?.agentReads).toBe(1)
    }
  )

  it('puts a number on the target: a page per 100 runs per repository, plus the snapshot', () => {
    expect(readTarget({ runs: 1, repos: 1 })).toBe(2)
    expect(readTarget({ runs: 101, repos: 1 })).toBe(3)
    expect(readTarget({ runs: 1000, repos: 1 })).toBe(11)
    expect(readTarget({ runs: 1000, repos: 10 })).toBe(11)
    expect(readTarget({ runs: 10, repos: 10 })).toBe(11)
  })
})
