/**
 * `npm run bench`: what one tick of the committed bundle costs, by in-flight
 * runs (N) and repositories (R), against the loopback sandboxes with latency
 * injected into every request. Prints a Markdown table (paste it into
 * BENCHMARKS.md) and exits 1 if an unchanged tick misses its targets:
 * reads ≤ R × ceil(N/R/100) + 1, zero writes, and N = 1000 in one
 * repository under 2 s.
 *
 *   npm run bench                 # N ∈ {1, 10, 100, 1000} × R ∈ {1, 10}, 20 ms, 5 samples
 *   npm run bench -- --small      # N ∈ {1, 10, 100}, 1 sample, no changing tick (CI)
 */
import { cpus, totalmem } from 'node:os'
import {
  PILOT_REQUESTS_PER_RUN,
  measure,
  readTarget,
  startupFloor,
  type BenchCase,
  type CaseResult
} from '../sandbox/bench.js'

const small = process.argv.includes('--small')
const latencyMs = 20
const samples = small ? 1 : 5
const sizes = small ? [1, 10, 100] : [1, 10, 100, 1000]
const cases: BenchCase[] = [1, 10].flatMap((repos) =>
  sizes.filter((runs) => runs >= repos || repos === 1).map((runs) => ({ runs, repos }))
)
const WALL_TARGET_MS = 2000

const problems: string[] = []
const results: CaseResult[] = []
const floor = await startupFloor(samples)
for (const c of cases) {
  const result = await measure(c, { latencyMs, samples, changing: !small })
  results.push(result)
  const u = result.unchanged
  const reads = u.graphqlReads + u.restReads + u.agentReads
  const label = `N=${c.runs} R=${c.repos}`
  if (reads > readTarget(c)) problems.push(`${label}: ${reads} reads > target ${readTarget(c)}`)
  if (u.writes !== 0) problems.push(`${label}: ${u.writes} writes on an unchanged tick`)
  if (!result.stableCounts) problems.push(`${label}: request counts varied between ticks`)
  if (c.runs === 1000 && c.repos === 1 && u.wallMs > WALL_TARGET_MS)
    problems.push(`${label}: ${Math.round(u.wallMs)} ms > ${WALL_TARGET_MS} ms`)
  process.stderr.write(`measured ${label}\n`)
}

const ms = (n: number) => `${Math.round(n)}`
const lines = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}; ${latencyMs} ms latency per request; wall time is the median of ${samples}, start to exit of \`node dist/index.js\` (node and the bundle alone, loop off: ${ms(floor)} ms).`,
  '',
  '### Unchanged tick (every agent at work, nothing new)',
  '',
  '| N runs | R repos | GraphQL reads | REST reads | agent reads | reads target | writes | pilot requests (3 × N) | wall ms | peak RSS MiB |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...results.map((r) => {
    const u = r.unchanged
    return `| ${r.runs} | ${r.repos} | ${u.graphqlReads} | ${u.restReads} | ${u.agentReads} | ≤ ${readTarget(r)} | ${u.writes} | ${PILOT_REQUESTS_PER_RUN * r.runs} | ${ms(u.wallMs)} | ${ms(u.peakRssMiB)} |`
  })
]
if (!small) {
  lines.push(
    '',
    '### One run in ten changed (its agent pushed a commit; CI pending)',
    '',
    '| N runs | R repos | changed | GraphQL reads | REST reads | agent reads | writes | wall ms | of which write pacing (1 s/write) | peak RSS MiB |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map((r) => {
      const c = r.changing
      if (!c) return `| ${r.runs} | ${r.repos} | – | | | | | | | |`
      return `| ${r.runs} | ${r.repos} | ${c.changed} | ${c.graphqlReads} | ${c.restReads} | ${c.agentReads} | ${c.writes} | ${ms(c.wallMs)} | ~${Math.max(0, c.writes - 1)} s | ${ms(c.peakRssMiB)} |`
    })
  )
}
console.log(lines.join('\n'))
if (problems.length) {
  console.error(`\nbench: ${problems.length} target(s) missed:\n${problems.join('\n')}`)
  process.exit(1)
}
console.error('\nbench: every target met')
