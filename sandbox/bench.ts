/**
 * What a tick costs: N in-flight runs spread over R repositories, every agent
 * at work and every fact unchanged since the last tick, then the same with
 * one run in ten changing state (its agent pushed a commit).
 *
 * The runs are seeded straight into the sandboxes (a record in a status
 * comment, a running T3 thread), then one in-process tick with unpaced writes
 * lets the loop itself write every comment the way it wants it. The ticks that
 * are measured are the committed bundle, as a runner runs it, against the
 * sandboxes with latency injected into every request.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseConfig, repoRef, type Config } from '../src/config.js'
import { encode } from '../src/core/bookkeeping.js'
import { tickSettings } from '../src/main.js'
import { tick } from '../src/loop/tick.js'
import { newRecord, recordThread } from '../src/loop/run-view.js'
import { createAdapters } from '../src/wire.js'
import { TRACKED_LABEL } from '../src/github/adapter.js'
import { runAction } from './action-process.js'
import { LOOP_LOGIN, startWorld, type World } from './scenario.js'
import { projectFor } from './t3/server.js'

export interface BenchCase {
  runs: number
  repos: number
  /** Issues nobody is working on, updated within the last hour (each with a comment). */
  unrelated?: number
}

export interface TickCost {
  /** GraphQL points the tick spent, priced by GitHub's formula (the sandbox's count). */
  points: number
  graphqlReads: number
  restReads: number
  /** T3 snapshot calls. */
  agentReads: number
  writes: number
  /** Wall time of the bundle's process, start to exit (ms). */
  wallMs: number
  /** The process's peak resident memory (MiB). */
  peakRssMiB: number
}

export interface CaseResult extends BenchCase {
  /** Median of the samples (wall time and memory); request counts of the last. */
  unchanged: TickCost
  /** Every tick's requests were the same: the counts are deterministic. */
  stableCounts: boolean
  /** One tick after a tenth of the runs changed, if measured. */
  changing: (TickCost & { changed: number }) | null
}

export interface BenchOptions {
  latencyMs: number
  samples: number
  /** Also measure a tick where 10 % of the runs changed. */
  changing: boolean
}

/**
 * The requests an unchanged tick needed before points were the unit: a page
 * per 100 runs per repository, plus the agent's snapshot.
 */
export function previousReadTarget({ runs, repos }: BenchCase): number {
  return repos * Math.ceil(runs / repos / 100) + 1
}

/**
 * The request target now: one census request for every repository (which
 * also reads the points left before anything is spent), a page of details
 * per 100 runs (riding with the next census page), and the agent's snapshot
 * every tick — also when nothing is in flight, to stop the agents of issues
 * transferred out of view (T3: one request to the T3 server; the agent
 * workflow: one run list per repository). That is the previous target plus
 * at most one with one repository, and fewer with several.
 */
export function readTarget({ runs }: BenchCase): number {
  return 1 + Math.ceil(runs / 100) + 1
}

/**
 * Points targets (issue 13): a quiet tick over 5 runs in one repository ≤ 3;
 * over 100 ≤ 6; over 1,000 ≤ 50; an idle loop 1 point per repository.
 * Unrelated issues add nothing (checked by comparing cases).
 */
export function pointsTarget({ runs, repos }: BenchCase): number {
  if (runs === 0) return repos
  if (runs <= 5) return 3
  if (runs <= 100) return 6
  return 50
}

/** GITHUB_TOKEN's GraphQL points per hour per repository. */
export const POINTS_PER_HOUR = 1000

/**
 * The most runs one repository's GITHUB_TOKEN sustains on a schedule, from
 * the measured cost model (points of a quiet tick = census + a page per 100
 * runs) and a share of the budget left for everything else.
 */
export function sustainableRuns(
  ticksPerHour: number,
  pointsPerTick: (runs: number) => number
): number {
  let lo = 0
  let hi = 1_000_000
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    if (pointsPerTick(mid) * ticksPerHour <= POINTS_PER_HOUR) lo = mid
    else hi = mid - 1
  }
  return lo
}

/** The pilot read a snapshot, read CI and wrote the checklist for every waiting run, every tick. */
export const PILOT_REQUESTS_PER_RUN = 3

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

/** Seed `count` in-flight runs into a repository: labelled, recorded, agent running. */
function seedRuns(world: World, repo: string, count: number, claimedAt: Date): number[] {
  const issues: number[] = []
  for (let i = 0; i < count; i++) {
    const issue = world.store.addIssue(repo, {
      title: `Bench issue ${i + 1}`,
      body: 'A run in flight.',
      author: 'maintainer',
      authorAssociation: 'OWNER',
      // As the loop's claim leaves it: in progress, and its tracking label.
      labels: ['agent-in-progress', TRACKED_LABEL]
    })
    const started = newRecord(repoRef(repo), issue.number, world.delivery, claimedAt)
    const key = started.intent?.key ?? ''
    const record = recordThread(started, { threadId: key, url: null }, claimedAt)
    world.store.addComment(issue, LOOP_LOGIN, encode(record))
    world.t3.addThread({
      id: key,
      projectId: projectFor(repo).id,
      title: `${repo}#${issue.number}: ${issue.title} (first turn)`,
      steps: ['stall']
    })
    issues.push(issue.number)
  }
  return issues
}

/** A preload that reports the process's peak memory when it exits. */
function rssProbe(dir: string): { args: string[]; file: string } {
  const probe = join(dir, 'rss-probe.cjs')
  const file = join(dir, 'rss')
  writeFileSync(
    probe,
    `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(file)}, String(process.resourceUsage().maxRSS)))\n`
  )
  return { args: ['--require', probe], file }
}

async function bundleTick(
  world: World,
  inputs: Record<string, string>,
  probe: { args: string[]; file: string }
): Promise<TickCost & { rows: { action: string }[] }> {
  world.github.resetCounts()
  const snapshots = world.t3.counts.snapshot ?? 0
  const started = performance.now()
  const run = await runAction(inputs, world.env(), 600_000, undefined, probe.args)
  const wallMs = performance.now() - started
  if (run.code !== 0) throw new Error(`the tick failed:\n${run.stdout}\n${run.stderr}`)
  const c = world.github.counts
  return {
    points: c.points,
    graphqlReads: c['graphql-read'],
    restReads: c['rest-read'],
    agentReads: (world.t3.counts.snapshot ?? 0) - snapshots,
    writes: c['graphql-write'] + c['rest-write'],
    wallMs,
    peakRssMiB: Number(readFileSync(probe.file, 'utf8')) / 1024,
    rows: JSON.parse(run.outputs.runs ?? '[]') as { action: string }[]
  }
}

/** In-process ticks with unpaced writes until the loop has nothing left to write (at most 3). */
async function settle(world: World, config: Config, quiet: Log): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const before = world.github.writes
    const adapters = createAdapters(config, {
      baseUrl: world.github.url,
      writeSpacingMs: 0,
      log: quiet
    })
    await tick(tickSettings(config), { ...adapters, log: { ...quiet, group: (_name, fn) => fn() } })
    if (world.github.writes === before) return
  }
}

type Log = { info(message: string): void; warning(message: string): void }

/** Measure one case: seed, settle, then time the bundle's ticks. */
export async function measure(bench: BenchCase, options: BenchOptions): Promise<CaseResult> {
  const repos = Array.from({ length: bench.repos }, (_, i) => `bench/repo-${i}`)
  // Seeding writes every record once: give the sandbox's token room for that;
  // the ticks measured are priced by the sandbox's count either way.
  const world = await startWorld({ repos, github: { pointsPerHour: { '*': 100_000_000 } } })
  const dir = mkdtempSync(join(tmpdir(), 'afk-bench-'))
  const saved = process.env.AFK_LOOP_ALLOW_LOOPBACK_HTTP
  try {
    const claimedAt = new Date(Date.now() - 10 * 60_000)
    const issues: [string, number][] = []
    for (const [i, repo] of repos.entries()) {
      const share = Math.floor(bench.runs / bench.repos) + (i < bench.runs % bench.repos ? 1 : 0)
      for (const n of seedRuns(world, repo, share, claimedAt)) issues.push([repo, n])
    }
    // Activity the loop has nothing to do with: it must not cost a point.
    for (let i = 0; i < (bench.unrelated ?? 0); i++) {
      const repo = repos[i % repos.length] ?? ''
      const issue = world.store.addIssue(repo, { title: `Unrelated ${i + 1}`, labels: ['bug'] })
      world.store.addComment(issue, 'someone', 'A comment today.')
    }
    const inputs = world.inputs({ 'max-concurrent': '100', 'max-concurrent-per-repo': '100' })

    // Settle: the loop writes every record its own way, unpaced, with no latency.
    process.env.AFK_LOOP_ALLOW_LOOPBACK_HTTP = 'true'
    const parsed = parseConfig(inputs, { allowLoopbackHttp: true })
    if (!parsed.ok || parsed.off) throw new Error('bench inputs are invalid')
    const quiet = { info: () => undefined, warning: () => undefined }
    // The adapters log through the toolkit, which writes to stdout: keep the report clean.
    const write = process.stdout.write.bind(process.stdout)
    process.stdout.write = () => true
    try {
      await settle(world, parsed.config, quiet)
    } finally {
      process.stdout.write = write
    }

    world.github.options.latencyMs = options.latencyMs
    world.t3.options.latencyMs = options.latencyMs
    const probe = rssProbe(dir)
    const samples: TickCost[] = []
    const counts = new Set<string>()
    for (let i = 0; i < options.samples; i++) {
      const { rows, ...cost } = await bundleTick(world, inputs, probe)
      const waiting = rows.filter((r) => r.action === 'WAIT').length
      if (waiting !== bench.runs)
        throw new Error(`expected ${bench.runs} waiting runs, saw ${waiting}`)
      samples.push(cost)
      counts.add(
        JSON.stringify([
          cost.points,
          cost.graphqlReads,
          cost.restReads,
          cost.agentReads,
          cost.writes
        ])
      )
    }
    const last = samples[samples.length - 1]
    if (!last) throw new Error('no samples')
    const unchanged: TickCost = {
      ...last,
      wallMs: median(samples.map((s) => s.wallMs)),
      peakRssMiB: median(samples.map((s) => s.peakRssMiB))
    }

    let changing: CaseResult['changing'] = null
    if (options.changing) {
      const changed = issues.filter((_, i) => i % 10 === 0)
      for (const [repo, n] of changed) world.push(repo, n, 'pending')
      const { rows: _rows, ...cost } = await bundleTick(world, inputs, probe)
      changing = { ...cost, changed: changed.length }
    }
    return { ...bench, unchanged, stableCounts: counts.size === 1, changing }
  } finally {
    if (saved === undefined) delete process.env.AFK_LOOP_ALLOW_LOOPBACK_HTTP
    else process.env.AFK_LOOP_ALLOW_LOOPBACK_HTTP = saved
    rmSync(dir, { recursive: true, force: true })
    await world.close()
  }
}

/** Node and the bundle starting and stopping with the loop off: the floor under every tick. */
export async function startupFloor(samples: number): Promise<number> {
  const walls: number[] = []
  for (let i = 0; i < samples; i++) {
    const started = performance.now()
    const run = await runAction({ mode: 'off' }, {}, 60_000)
    walls.push(performance.now() - started)
    if (run.code !== 0) throw new Error(`the off tick failed:\n${run.stderr}`)
  }
  return median(walls)
}
