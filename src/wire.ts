/**
 * Production wiring: the real GitHub, agent and notifier adapters for a
 * config. Kept apart from main.ts so the action's flow can be tested with
 * fakes; nothing here runs when the loop is off.
 */
import type { Config } from './config.js'
import type { Adapters } from './main.js'

/** Build the adapters one tick runs over. */
export function createAdapters(config: Config): Adapters {
  throw new Error(
    `mode '${config.mode}' needs the GitHub and agent adapters, which this build does not include yet; set mode: off.`
  )
}
