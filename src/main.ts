/**
 * The action's flow: inputs → config → wire adapters → one tick → job
 * summary and outputs.
 *
 * Secrets are masked the moment they are read, before anything can log them.
 * A loop that is off (the default) or has nothing allowlisted says how to turn
 * it on and returns before any adapter exists, so it can't make a request.
 * Invalid inputs fail the step before any adapter exists, for the same reason.
 */
import * as core from '@actions/core'
import type { AgentPort, Clock, GitHubPort, NotifierPort } from './loop/ports.js'
import {
  runsOutput,
  summaryLine,
  summaryMarkdown,
  tickCounts,
  type TickReport
} from './loop/report.js'
import { tick, type TickSettings } from './loop/tick.js'
import { createAdapters, createCheckDeps } from './wire.js'
import { neededReads } from './github/probe.js'
import { runCheck, type CheckDeps } from './loop/check.js'
import { checkCounts, checkLogLine, checkMarkdown, checkSummaryLine } from './core/check.js'
import {
  HOW_TO_TURN_ON,
  INPUT_DEFAULTS,
  SECRET_INPUTS,
  parseConfig,
  type Config,
  type InputName,
  type RawInputs
} from './config.js'

/** Read every input of action.yml, masking secrets as they are read. */
export function readInputs(
  getInput: (name: string) => string = core.getInput,
  setSecret: (value: string) => void = core.setSecret
): Partial<RawInputs> {
  const raw: Partial<RawInputs> = {}
  for (const name of Object.keys(INPUT_DEFAULTS) as InputName[]) {
    const value = getInput(name)
    if (SECRET_INPUTS.includes(name) && value !== '') setSecret(value)
    raw[name] = value
  }
  return raw
}

/** The ports one tick runs over. Production builds real ones; tests pass fakes. */
export interface Adapters {
  github: GitHubPort
  agent: AgentPort
  notifier: NotifierPort
  clock: Clock
  /** GitHub's rate limit as last seen, logged at the end of the tick. */
  rateLimit?: () => { remaining: number; resetAt: string | null } | null
}

export type AdapterFactory = (config: Config) => Adapters | Promise<Adapters>
export type CheckFactory = (config: Config) => CheckDeps | Promise<CheckDeps>

/** Run the action once. Never throws: failures fail the step. */
export async function run(
  makeAdapters: AdapterFactory = productionAdapters,
  makeCheckDeps: CheckFactory = createCheckDeps
): Promise<void> {
  try {
    const parsed = parseConfig(readInputs(), {
      allowLoopbackHttp: process.env.AFK_LOOP_ALLOW_LOOPBACK_HTTP === 'true'
    })
    if (!parsed.ok) {
      core.setFailed(
        [`afk-loop can't start: ${parsed.errors.length} input problem(s).`, ...parsed.errors].join(
          '\n'
        )
      )
      return
    }
    for (const warning of parsed.warnings) core.warning(warning)
    if (parsed.off) {
      await reportOff(parsed.why)
      return
    }
    if (parsed.config.mode === 'check') await checkSetup(parsed.config, makeCheckDeps)
    else await runLoop(parsed.config, makeAdapters)
  } catch (error) {
    core.setFailed(`afk-loop failed: ${error instanceof Error ? error.message : String(error)}`)
  }
}

async function reportOff(why: string): Promise<void> {
  core.info(why)
  core.info(HOW_TO_TURN_ON)
  core.setOutput('runs', '[]')
  core.setOutput('summary', 'afk-loop is off')
  setCountOutputs(null)
  if (process.env.GITHUB_STEP_SUMMARY) {
    await core.summary
      .addHeading('afk-loop is off', 3)
      .addRaw(`${why}\n\n${HOW_TO_TURN_ON}`)
      .write()
  }
}

/**
 * `mode: check`: verify the setup, write nothing; a pass/fail line each in
 * the log and the job summary. The step fails when a check fails.
 */
async function checkSetup(config: Config, makeCheckDeps: CheckFactory): Promise<void> {
  core.info(
    `afk-loop: mode check (writes nothing), agent ${config.agent}, ${config.repos.length} repositor${config.repos.length === 1 ? 'y' : 'ies'}.`
  )
  const deps = await makeCheckDeps(config)
  const lines = await runCheck(
    { repos: config.repos, neededReads: neededReads(config), testDoorbells: config.checkNotify },
    deps
  )
  for (const l of lines) {
    if (l.status === 'fail') core.error(checkLogLine(l))
    else if (l.status === 'warn') core.warning(checkLogLine(l))
    else core.info(checkLogLine(l))
  }
  const line = checkSummaryLine(lines)
  core.info(line)
  core.setOutput('runs', '[]')
  core.setOutput('summary', line)
  setCountOutputs(null)
  const failed = checkCounts(lines).fail
  core.setOutput('errors', String(failed))
  if (process.env.GITHUB_STEP_SUMMARY) {
    await core.summary.addRaw(checkMarkdown(lines), true).write()
  }
  if (failed > 0) {
    core.setFailed(
      `afk-loop check: ${failed} check(s) failed — see the lines above or the job summary for each fix.`
    )
  }
}

/** The loop's settings, from the inputs. */
export function tickSettings(config: Config): TickSettings {
  return {
    mode: config.mode,
    delivery: config.delivery,
    labels: config.labels,
    policy: config.policy,
    templates: config.templates,
    mention: config.notify.mention,
    stateSecret: config.stateSecret,
    dryRun: config.dryRun,
    maxConcurrent: config.maxConcurrent,
    maxConcurrentPerRepo: config.maxConcurrentPerRepo,
    trustedAssociations: config.trustedAssociations,
    dashboard: config.dashboard
  }
}

/**
 * Wire the adapters for this config and run one tick; report it as outputs,
 * a job summary and log lines. The step fails only when the tick could not
 * read the world at all; a failure on one run is reported on its row.
 */
async function runLoop(config: Config, makeAdapters: AdapterFactory): Promise<void> {
  const adapters = await makeAdapters(config)
  core.info(
    `afk-loop: mode ${config.mode}${config.dryRun ? ' (dry run)' : ''}, agent ${config.agent}, delivery ${config.delivery}, ${config.repos.length} repositor${config.repos.length === 1 ? 'y' : 'ies'}.`
  )
  const report = await tick(tickSettings(config), {
    ...adapters,
    log: {
      info: (message) => core.info(message),
      warning: (message) => core.warning(message),
      debug: (message) => core.debug(message),
      group: (name, fn) => core.group(name, fn)
    }
  })
  const limit = adapters.rateLimit?.()
  if (limit) {
    core.info(
      `GitHub rate limit at the end of the tick: ${limit.remaining} remaining${limit.resetAt ? ` (resets ${limit.resetAt})` : ''}.`
    )
  }
  await publish(report)
}

/** The scalar outputs beside `runs`, for `if:` conditions; all 0 when the loop is off. */
export const COUNT_OUTPUTS = ['claimed', 'in-flight', 'landed', 'handed-back', 'errors'] as const

function setCountOutputs(report: TickReport | null): void {
  const c = report ? tickCounts(report) : null
  const values: Record<(typeof COUNT_OUTPUTS)[number], number> = {
    claimed: c?.claimed ?? 0,
    'in-flight': c?.inFlight ?? 0,
    landed: c?.landed ?? 0,
    'handed-back': c?.handedBack ?? 0,
    errors: c?.errors ?? 0
  }
  for (const name of COUNT_OUTPUTS) core.setOutput(name, String(values[name]))
}

async function publish(report: TickReport): Promise<void> {
  for (const r of report.rows) {
    const line = `${r.repo}#${r.issue}: ${r.action} (${r.reason})${r.note ? ` — ${r.note}` : ''}`
    if (r.error) core.warning(`${line}: ${r.error}`)
    else core.info(line)
    core.debug(
      `decision ${r.repo}#${r.issue}: action=${r.action} reason=${r.reason} phase=${r.phase ?? '-'} attempts=${r.attempts}/${r.maxAttempts} elapsed=${r.elapsedSeconds ?? '-'}s thread=${r.threadId ?? '-'} commit=${r.commit ?? '-'}${r.error ? ` error=${r.error}` : ''}`
    )
  }
  for (const label of report.labelsCreated) core.info(`Created the label ${label}.`)
  for (const d of report.dashboards ?? []) core.info(`Dashboard issue ${d}.`)
  for (const step of report.plan) core.info(`dry run: would ${step}`)
  const line = summaryLine(report)
  core.info(line)
  core.setOutput('runs', runsOutput(report))
  core.setOutput('summary', line)
  setCountOutputs(report)
  if (process.env.GITHUB_STEP_SUMMARY) {
    await core.summary.addRaw(summaryMarkdown(report), true).write()
  }
  // A write refused for lack of permission will be refused on every tick
  // until someone grants it: fail the step, naming what to grant. A rate
  // limit or a transient fault never gets here (they are retried).
  if (report.permissionFailures.length > 0) {
    const needed = [...new Set(report.permissionFailures.map((f) => f.permission))]
    core.setFailed(
      [
        `afk-loop can't write: the token lacks ${needed.join(', ')}. Grant it in the workflow's permissions: block (GITHUB_TOKEN) or the GitHub App's permissions, then run again.`,
        ...report.permissionFailures.map((f) => `${f.repo}: ${f.error}`)
      ].join('\n')
    )
  }
}

/** The real adapters: GitHub, the configured agent backend, the doorbell. */
function productionAdapters(config: Config): Adapters {
  return createAdapters(config)
}
