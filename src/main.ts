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

/** Run the action once. Never throws: failures fail the step. */
export async function run(): Promise<void> {
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
    await runLoop(parsed.config)
  } catch (error) {
    core.setFailed(`afk-loop failed: ${error instanceof Error ? error.message : String(error)}`)
  }
}

async function reportOff(why: string): Promise<void> {
  core.info(why)
  core.info(HOW_TO_TURN_ON)
  core.setOutput('runs', '[]')
  core.setOutput('summary', 'afk-loop is off')
  if (process.env.GITHUB_STEP_SUMMARY) {
    await core.summary
      .addHeading('afk-loop is off', 3)
      .addRaw(`${why}\n\n${HOW_TO_TURN_ON}`)
      .write()
  }
}

/** Wire the adapters for this config and run one tick. */
async function runLoop(config: Config): Promise<void> {
  throw new Error(
    `mode '${config.mode}' needs the loop, which this build does not include yet; set mode: off.`
  )
}
