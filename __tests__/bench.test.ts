/**
 * The benchmark's request-count targets, enforced on every test run (small N,
 * no latency: counts don't depend on the network). `npm run bench` measures
 * the full grid and the wall times; this keeps a regression in what a tick
 * asks of GitHub from landing.
 */
import { describe, expect, it, jest } from '@jest/globals'
import {
  measure,
  pointsTarget,
  previousReadTarget,
  readTarget,
  sustainableRuns
} from '../sandbox/bench.js'

jest.setTimeout(180_000)

describe('what a tick of the bundle costs', () => {
  it.each([
    { runs: 1, repos: 1 },
    { runs: 101, repos: 1 },
    { runs: 20, repos: 10 }
  ])(
    'N=$runs in R=$repos: a census and a page of details per 100 runs, one snapshot, no writes; one write per changed run',
    async (bench) => {
      const result = await measure(bench, { latencyMs: 0, samples: 2, changing: true })
      const u = result.unchanged
      expect(u.graphqlReads + u.restReads + u.agentReads).toBeLessThanOrEqual(readTarget(bench))
      expect(u.points).toBeLessThanOrEqual(pointsTarget(bench))
      expect(u.points).toBe(1 + Math.ceil(bench.runs / 100))
      expect(u.agentReads).toBe(1)
      expect(u.writes).toBe(0)
      expect(result.stableCounts).toBe(true)
      const changing = result.changing
      expect(changing?.changed).toBe(Math.ceil(bench.runs / 10))
      expect(changing?.writes).toBe(changing?.changed)
      expect(changing?.agentReads).toBe(1)
    }
  )

  it('an idle loop costs one point and one GitHub request for all its repositories, and one agent read (the sweep); unrelated issues cost nothing', async () => {
    const idle = await measure({ runs: 0, repos: 3 }, { latencyMs: 0, samples: 1, changing: false })
    expect(idle.unchanged).toMatchObject({
      points: 1,
      graphqlReads: 1,
      restReads: 0,
      agentReads: 1,
      writes: 0
    })
    const busy = await measure(
      { runs: 2, repos: 1, unrelated: 300 },
      { latencyMs: 0, samples: 1, changing: false }
    )
    expect(busy.unchanged.points).toBe(2)
  })

  it('puts numbers on the targets', () => {
    expect(previousReadTarget({ runs: 1, repos: 1 })).toBe(2)
    expect(previousReadTarget({ runs: 10, repos: 10 })).toBe(11)
    expect(readTarget({ runs: 0, repos: 10 })).toBe(2)
    expect(readTarget({ runs: 1, repos: 1 })).toBe(3)
    expect(readTarget({ runs: 101, repos: 1 })).toBe(4)
    expect(readTarget({ runs: 1000, repos: 1 })).toBe(12)
    expect(readTarget({ runs: 10, repos: 10 })).toBe(3)
    expect(pointsTarget({ runs: 0, repos: 4 })).toBe(4)
    expect(pointsTarget({ runs: 5, repos: 1 })).toBe(3)
    expect(pointsTarget({ runs: 100, repos: 1 })).toBe(6)
    expect(pointsTarget({ runs: 1000, repos: 1 })).toBe(50)
    // 12 quiet ticks an hour at 1 + ceil(N/100) points fit 1,000 points up to N = 8,200.
    expect(sustainableRuns(12, (n) => 1 + Math.ceil(n / 100))).toBe(8200)
  })
})
