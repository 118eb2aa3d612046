/**
 * `npm run bench`: what one tick of the committed bundle costs — in GitHub's
 * GraphQL points (priced by the sandbox with GitHub's published formula) and
 * in requests — by in-flight runs (N) and repositories (R), against the
 * loopback sandboxes with latency injected into every request. Prints a
 * Markdown report (paste it into BENCHMARKS.md) and exits 1 on any missed
 * target:
 * - points: a quiet tick over 5 runs in one repository ≤ 3, over 100 ≤ 6,
 *   over 1,000 ≤ 50; an idle loop 1 point per repository; 1,000 unrelated
 *   updated issues add 0 points;
 * - requests ≤ one census + a page of details per 100 runs + the agent's
 *   snapshot (read every tick, idle ones too: the sweep of agents whose issue
 *   left the loop's view); an unchanged tick writes nothing; counts are the
 *   same every tick;
 * - N = 1000 in one repository under 2 s;
 * - every input check and the hidden-text stripper scale linearly: ten times
 *   the input costs at most 40 times as long (about 10 when linear).
 *
 *   npm run bench                 # the full grid, 20 ms, 5 samples, a changing tick
 *   npm run bench -- --small      # the small cases, 1 sample (CI)
 */
import { cpus, totalmem } from 'node:os'
import {
  PILOT_REQUESTS_PER_RUN,
  POINTS_PER_HOUR,
  measure,
  pointsTarget,
  previousReadTarget,
  readTarget,
  startupFloor,
  sustainableRuns,
  type BenchCase,
  type CaseResult
} from '../sandbox/bench.js'
import { MAX_SCALING_RATIO, measureScaling } from '../sandbox/linear-time.js'

const small = process.argv.includes('--small')
const latencyMs = 20
const samples = small ? 1 : 5
const cases: BenchCase[] = small
  ? [
      { runs: 0, repos: 1 },
      { runs: 0, repos: 10 },
      { runs: 5, repos: 1 },
      { runs: 5, repos: 1, unrelated: 1000 },
      { runs: 100, repos: 1 },
      { runs: 20, repos: 10 }
    ]
  : [
      { runs: 0, repos: 1 },
      { runs: 0, repos: 10 },
      { runs: 1, repos: 1 },
      { runs: 5, repos: 1 },
      { runs: 5, repos: 1, unrelated: 1000 },
      { runs: 10, repos: 1 },
      { runs: 100, repos: 1 },
      { runs: 1000, repos: 1 },
      { runs: 10, repos: 10 },
      { runs: 100, repos: 10 },
      { runs: 1000, repos: 10 }
    ]
const WALL_TARGET_MS = 2000

const problems: string[] = []
const results: CaseResult[] = []
const floor = await startupFloor(samples)
const label = (c: BenchCase) =>
  `N=${c.runs} R=${c.repos}${c.unrelated ? ` +${c.unrelated} unrelated` : ''}`
for (const c of cases) {
  const result = await measure(c, { latencyMs, samples, changing: !small && c.runs > 0 })
  results.push(result)
  const u = result.unchanged
  const reads = u.graphqlReads + u.restReads + u.agentReads
  if (u.points > pointsTarget(c))
    problems.push(`${label(c)}: ${u.points} points > target ${pointsTarget(c)}`)
  if (reads > readTarget(c)) problems.push(`${label(c)}: ${reads} reads > target ${readTarget(c)}`)
  if (u.writes !== 0) problems.push(`${label(c)}: ${u.writes} writes on an unchanged tick`)
  if (!result.stableCounts) problems.push(`${label(c)}: points or requests varied between ticks`)
  if (c.runs === 1000 && c.repos === 1 && u.wallMs > WALL_TARGET_MS)
    problems.push(`${label(c)}: ${Math.round(u.wallMs)} ms > ${WALL_TARGET_MS} ms`)
  process.stderr.write(`measured ${label(c)}: ${u.points} point(s)\n`)
}
// Unrelated activity costs nothing: the same runs with and without it cost the same.
for (const r of results.filter((x) => x.unrelated)) {
  const base = results.find((x) => !x.unrelated && x.runs === r.runs && x.repos === r.repos)
  if (base && r.unchanged.points !== base.unchanged.points)
    problems.push(
      `${label(r)}: ${r.unchanged.points - base.unchanged.points} point(s) for unrelated issues (target 0)`
    )
}

// The cost model of one repository, checked against every one-repository case measured.
const model = (runs: number) => 1 + Math.ceil(runs / 100)
for (const r of results.filter((x) => x.repos === 1 && !x.unrelated)) {
  if (r.unchanged.points !== model(r.runs))
    problems.push(`${label(r)}: ${r.unchanged.points} points, the model says ${model(r.runs)}`)
}

const ms = (n: number) => `${Math.round(n)}`
const lines = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}; ${latencyMs} ms latency per request; wall time is the median of ${samples}, start to exit of \`node dist/index.js\` (node and the bundle alone, loop off: ${ms(floor)} ms). Points are GitHub's published formula applied by the sandbox to every query (docs/reference/github-graphql-costs.md).`,
  '',
  '### Unchanged tick (every agent at work, nothing new)',
  '',
  '| N runs | R repos | unrelated issues | points | points target | points/h at 5 min | points/h at 15 min | GraphQL reads | REST reads | agent reads | reads target (before) | writes | pilot requests (3 × N) | wall ms | peak RSS MiB |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...results.map((r) => {
    const u = r.unchanged
    return `| ${r.runs} | ${r.repos} | ${r.unrelated ?? 0} | ${u.points} | ≤ ${pointsTarget(r)} | ${u.points * 12} | ${u.points * 4} | ${u.graphqlReads} | ${u.restReads} | ${u.agentReads} | ≤ ${readTarget(r)} (${previousReadTarget(r)}) | ${u.writes} | ${PILOT_REQUESTS_PER_RUN * r.runs} | ${ms(u.wallMs)} | ${ms(u.peakRssMiB)} |`
  }),
  '',
  `### What one repository's GITHUB_TOKEN sustains (${POINTS_PER_HOUR} points an hour)`,
  '',
  'A quiet tick over N runs in one repository costs 1 + ⌈N/100⌉ points (checked above against every one-repository case); each write costs 1 more.',
  '',
  '| schedule | ticks/h | largest N, quiet ticks, whole budget | largest N, quiet ticks, half the budget (other workflows) |',
  '|---|---:|---:|---:|',
  ...[
    ['every 5 minutes', 12],
    ['every 15 minutes', 4]
  ].map(
    ([name, t]) =>
      `| ${name} | ${t} | ${sustainableRuns(Number(t), model)} | ${sustainableRuns(Number(t), (n) => 2 * model(n))} |`
  )
]
if (!small) {
  lines.push(
    '',
    '### One run in ten changed (its agent pushed a commit; CI pending)',
    '',
    '| N runs | R repos | changed | points | GraphQL reads | REST reads | agent reads | writes | wall ms | of which write pacing (1 s/write) | peak RSS MiB |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results
      .filter((r) => r.changing)
      .map((r) => {
        const c = r.changing
        if (!c) return ''
        return `| ${r.runs}${r.unrelated ? ` (+${r.unrelated} unrelated)` : ''} | ${r.repos} | ${c.changed} | ${c.points} | ${c.graphqlReads} | ${c.restReads} | ${c.agentReads} | ${c.writes} | ${ms(c.wallMs)} | ~${Math.max(0, c.writes - 1)} s | ${ms(c.peakRssMiB)} |`
      })
  )
}
// Input checks and hidden-text stripping scale linearly (a ratio, not a wall-clock limit).
const scaling = measureScaling()
for (const s of scaling) {
  if (s.ratio > MAX_SCALING_RATIO)
    problems.push(
      `${s.name}: 10× the input took ${s.ratio.toFixed(1)}× as long (linear ≈ 10, limit ${MAX_SCALING_RATIO})`
    )
}
lines.push(
  '',
  '### Input checks scale linearly',
  '',
  '| check | 20,000 chars, ms | 200,000 chars, ms | ratio (linear ≈ 10) |',
  '|---|---:|---:|---:|',
  ...scaling.map(
    (s) =>
      `| ${s.name} | ${s.smallMs.toFixed(1)} | ${s.largeMs.toFixed(1)} | ${s.ratio.toFixed(1)} |`
  )
)
console.log(lines.join('\n'))
if (problems.length) {
  console.error(`\nbench: ${problems.length} target(s) missed:\n${problems.join('\n')}`)
  process.exit(1)
}
console.error('\nbench: every target met')
