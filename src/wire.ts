/**
 * Production wiring: the real GitHub, agent and notifier adapters for a
 * config. Kept apart from main.ts so the action's flow can be tested with
 * fakes; nothing here runs when the loop is off.
 *
 * The GitHub adapter finds the loop's issues by label (in progress, and its
 * tracking label while a doorbell is owed), not by recent activity; it reads
 * ready issues only up to the free `max-concurrent` slots. Trunk commits are
 * read from the claim window only.
 */
import * as core from '@actions/core'
import { createAgent } from './agents/index.js'
import type { Config } from './config.js'
import { createOctokit, type ClientOptions } from './github/client.js'
import { createGitHubAdapter } from './github/adapter.js'
import type { Adapters } from './main.js'
import { createNotifier } from './notify/index.js'
import type { CheckDeps } from './loop/check.js'
import { neededReads, probeRepository, probeSchedule } from './github/probe.js'

const HOUR = 3600

/**
 * Build the adapters one tick runs over. `clientOptions` is the seam the
 * benchmark uses to point the clients at the sandbox; the action passes none.
 */
export function createAdapters(config: Config, clientOptions: ClientOptions = {}): Adapters {
  const log = { info: (m: string) => core.info(m), warning: (m: string) => core.warning(m) }
  const clients = createOctokit(config.githubToken, { log, ...clientOptions })
  const now = (): Date => new Date()
  const github = createGitHubAdapter({
    clients,
    repos: config.repos,
    labels: config.labels,
    delivery: config.delivery,
    ignoreChecks: config.ignoreChecks,
    now,
    trunkWindowSeconds: config.policy.maxRuntimeSeconds + HOUR,
    maxConcurrent: config.maxConcurrent,
    maxConcurrentPerRepo: config.maxConcurrentPerRepo,
    log
  })
  const agent = createAgent(config, {
    clients,
    log: log.info,
    clientOptions: { log, ...clientOptions }
  })
  const notifier = createNotifier(config.notify, {
    allowLoopbackHttp: process.env.AFK_LOOP_ALLOW_LOOPBACK_HTTP === 'true'
  })
  return { github, agent, notifier, clock: { now }, rateLimit: () => github.rateLimit() }
}

/**
 * The reads `mode: check` makes: the same clients and agent backend a tick
 * would use, and the workflow's own repository (GITHUB_REPOSITORY).
 */
export function createCheckDeps(config: Config, clientOptions: ClientOptions = {}): CheckDeps {
  const log = { info: (m: string) => core.info(m), warning: (m: string) => core.warning(m) }
  const clients = createOctokit(config.githubToken, { log, ...clientOptions })
  const workflowRepo = process.env.GITHUB_REPOSITORY ?? ''
  return {
    probe: (repo) =>
      probeRepository(clients, repo, {
        labels: config.labels,
        reads: neededReads(config),
        workflowFile: config.agent === 'workflow' ? config.workflow.file : null,
        dashboard: config.dashboard
      }),
    schedule: async () =>
      /^[^/]+\/[^/]+$/.test(workflowRepo) ? probeSchedule(clients, workflowRepo) : null,
    agent: createAgent(config, { clients, clientOptions: { log, ...clientOptions } }),
    notifier: createNotifier(config.notify, {
      allowLoopbackHttp: process.env.AFK_LOOP_ALLOW_LOOPBACK_HTTP === 'true'
    }),
    clock: { now: () => new Date() }
  }
}
