/**
 * The action's inputs, read once, checked with zod, turned into a Config.
 *
 * The loop is disabled by default: `mode` is `off` unless set, and an empty
 * `repos` allowlist also means off. Reading the inputs makes no request.
 *
 * Every error a user can cause names the input and says how to fix it, and a
 * failed parse means nothing else runs. Secret values never appear in an
 * error message (they are masked by the caller before they reach here, and
 * messages about them don't quote them anyway).
 *
 * This module is pure: the caller passes the raw input strings in.
 */
import ms from 'ms'
import { z } from 'zod'
import {
  DEFAULT_FIRST_TEMPLATE,
  DEFAULT_FIX_FORWARD_TEMPLATE,
  unknownPlaceholders,
  type TemplateKind
} from './core/prompts.js'
import type { Delivery, Policy } from './core/types.js'

/** Every input of action.yml, with its default (the same as action.yml's). */
export const INPUT_DEFAULTS = {
  mode: 'off',
  repos: '',
  'github-token': '',
  agent: 't3',
  't3-url': '',
  't3-token': '',
  't3-projects': '',
  't3-model': '',
  't3-runtime-mode': 'full-access',
  'agent-workflow': 'afk-agent.yml',
  'agent-workflow-ref': '',
  'copilot-token': '',
  'copilot-base-ref': '',
  'copilot-model': '',
  delivery: 'pull-request',
  'ready-label': 'ready-for-agent',
  'in-progress-label': 'agent-in-progress',
  'human-label': 'ready-for-human',
  'max-fix-forward': '3',
  'max-runtime': '6h',
  'prepush-timeout': '2h',
  'ci-start-timeout': '20m',
  'idle-grace': '10m',
  'max-concurrent': '3',
  'max-concurrent-per-repo': '1',
  'trusted-associations': 'OWNER,MEMBER,COLLABORATOR',
  'ignore-checks': '',
  'prompt-template': '',
  'fix-forward-prompt-template': '',
  'notify-slack-webhook': '',
  'notify-webhook-url': '',
  'notify-webhook-secret': '',
  'notify-mention': '',
  'state-secret': '',
  'dry-run': 'false',
  'check-notify': 'false',
  dashboard: 'false'
} as const

export type InputName = keyof typeof INPUT_DEFAULTS
export type RawInputs = Record<InputName, string>

/** Inputs whose values are secrets: masked the moment they are read. */
export const SECRET_INPUTS: readonly InputName[] = [
  'github-token',
  't3-url',
  't3-token',
  'copilot-token',
  'notify-slack-webhook',
  'notify-webhook-url',
  'notify-webhook-secret',
  'state-secret'
]

export const MODES = ['off', 'check', 'watch', 'on', 'stop'] as const
export type Mode = (typeof MODES)[number]

export const AUTHOR_ASSOCIATIONS = [
  'OWNER',
  'MEMBER',
  'COLLABORATOR',
  'CONTRIBUTOR',
  'FIRST_TIME_CONTRIBUTOR',
  'FIRST_TIMER',
  'MANNEQUIN',
  'NONE'
] as const
export type AuthorAssociation = (typeof AUTHOR_ASSOCIATIONS)[number]

export const T3_RUNTIME_MODES = ['approval-required', 'auto-accept-edits', 'full-access'] as const

/** A repository the loop may touch. `key` is the lowercased `owner/name`. */
export interface RepoRef {
  owner: string
  name: string
  /** `owner/name` as the user wrote it. */
  fullName: string
  /** Lowercase, for comparisons: GitHub names are case-insensitive. */
  key: string
}

/** A model on a T3 provider instance, in the form every release decodes. */
export interface T3ModelSelection {
  /** The driver (`codex`, `claudeAgent`, …): what releases before v0.0.22 route by. */
  provider?: string
  instanceId: string
  model: string
}

export interface Config {
  mode: Mode
  repos: RepoRef[]
  githubToken: string
  agent: 't3' | 'workflow' | 'copilot'
  t3: {
    url: string | null
    token: string
    /** Lowercase `owner/name` → project id. */
    projects: Record<string, string>
    model: T3ModelSelection | null
    runtimeMode: (typeof T3_RUNTIME_MODES)[number]
  }
  workflow: { file: string; ref: string | null }
  /** GitHub's Copilot cloud agent (agent tasks API); see docs/reference/copilot-agent-tasks.md. */
  copilot: { token: string; baseRef: string | null; model: string | null }
  delivery: Delivery
  labels: { ready: string; inProgress: string; human: string }
  policy: Policy
  maxConcurrent: number
  maxConcurrentPerRepo: number
  trustedAssociations: AuthorAssociation[]
  ignoreChecks: string[]
  templates: { first: string; fixForward: string }
  notify: {
    slackWebhook: string | null
    webhookUrl: string | null
    webhookSecret: string | null
    mention: string | null
  }
  /** Key of the records' MAC; null = records are trusted by author only. */
  stateSecret: string | null
  dryRun: boolean
  /** `mode: check`: also send each notification channel a test delivery. */
  checkNotify: boolean
  /** Keep one dashboard issue per repository (runs, endings, pause / hand-back checkboxes). */
  dashboard: boolean
}

/** The result of reading the inputs. */
export type ParsedConfig =
  | { ok: true; config: Config; off: false; warnings: string[] }
  | { ok: true; off: true; why: string; warnings: string[] }
  | { ok: false; errors: string[] }

/** Environment switches that are not inputs (test-only settings). */
export interface ConfigEnv {
  /** Allow `http://127.0.0.1` webhook URLs: for tests against a loopback receiver only. */
  allowLoopbackHttp?: boolean
}

/** How to turn the loop on, printed whenever it is off. */
export const HOW_TO_TURN_ON =
  "To turn it on, set the `mode` input to `on` (or `watch` to only drive runs already in flight) and list the repositories it may work in under `repos` (owner/name, one per line). Tip: `mode: ${{ vars.AFK_LOOP_MODE || 'off' }}` makes a repository variable the kill switch."

const MAX_FIX_FORWARD_LIMIT = 20
const REPO_PATTERN = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})$/

/** The longest part of an input's value an error message repeats. */
export const QUOTE_MAX = 80

/**
 * An input's value as an error message quotes it: whole when short, else its
 * first {@link QUOTE_MAX} characters and its length — a 100,000-character
 * input must not become 100,000 characters of log. Never used on a secret
 * input: those are named, not shown.
 */
export function quoted(value: string): string {
  return value.length <= QUOTE_MAX
    ? `'${value}'`
    : `'${value.slice(0, QUOTE_MAX)}…' (${value.length} characters)`
}

/** A part of a value shown without quotes (a placeholder name), clipped the same way. */
function clipped(value: string): string {
  return value.length <= QUOTE_MAX
    ? value
    : `${value.slice(0, QUOTE_MAX)}… (${value.length} characters)`
}

/** The most problems reported per input; the rest are counted. */
const PROBLEMS_PER_INPUT = 5

/** Collects problems; each names its input. A few per input, the rest counted. */
class Problems {
  private readonly messages: string[] = []
  private readonly perInput = new Map<InputName, number>()
  add(input: InputName, message: string): void {
    const n = (this.perInput.get(input) ?? 0) + 1
    this.perInput.set(input, n)
    if (n <= PROBLEMS_PER_INPUT) this.messages.push(`Input '${input}': ${message}`)
  }
  get list(): string[] {
    const more = [...this.perInput]
      .filter(([, n]) => n > PROBLEMS_PER_INPUT)
      .map(
        ([input, n]) =>
          `Input '${input}': and ${n - PROBLEMS_PER_INPUT} more problem(s) like the ones above.`
      )
    return [...this.messages, ...more]
  }
}

/** Split a list input on commas and newlines; drop blanks and comments. */
export function splitList(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter((item) => item.length > 0 && !item.startsWith('#'))
}

/**
 * Parse a duration such as `90s`, `20m`, `6h`, `1d` (via `ms`). A bare number
 * is refused: it is ambiguous (milliseconds to `ms`, seconds to most people).
 */
export function parseDuration(value: string): number | null {
  const text = value.trim()
  if (!/[a-z]/i.test(text)) return null
  let millis: number | undefined
  try {
    millis = ms(text as ms.StringValue) as number | undefined
  } catch {
    return null
  }
  if (typeof millis !== 'number' || !Number.isFinite(millis) || millis < 1000) return null
  return Math.round(millis / 1000)
}

function parseInteger(value: string, min: number, max: number): number | null {
  const text = value.trim()
  if (!/^\d+$/.test(text)) return null
  const n = Number(text)
  return n >= min && n <= max ? n : null
}

/** YAML 1.2 core booleans, as `core.getBooleanInput` accepts them. */
function parseBoolean(value: string): boolean | null {
  const text = value.trim()
  if (['true', 'True', 'TRUE'].includes(text)) return true
  if (['false', 'False', 'FALSE', ''].includes(text)) return false
  return null
}

function parseUrl(
  value: string,
  input: InputName,
  problems: Problems,
  env: ConfigEnv,
  opts: { secret: boolean; allowHttp?: boolean }
): string | null {
  const text = value.trim()
  if (text === '') return null
  const shown = opts.secret ? 'the value given' : quoted(text)
  let url: URL
  try {
    url = new URL(text)
  } catch {
    problems.add(input, `${shown} is not a URL. Give a full URL such as https://example.com/hook.`)
    return null
  }
  if (url.protocol === 'https:') return text
  if (url.protocol === 'http:' && (opts.allowHttp || (isLoopback(url) && env.allowLoopbackHttp))) {
    return text
  }
  problems.add(input, `${shown} must use https:// (plain http would expose what it carries).`)
  return null
}

/**
 * The T3 server's address: masked like a secret (an internal address is
 * nobody else's business), and only a bare base URL — credentials belong in
 * `t3-token`, and a query string would ride along on every request.
 */
function parseT3Url(value: string, problems: Problems, env: ConfigEnv): string | null {
  const text = parseUrl(value, 't3-url', problems, env, { secret: true, allowHttp: true })
  if (text === null) return null
  const url = new URL(text)
  if (url.username !== '' || url.password !== '') {
    problems.add(
      't3-url',
      'must not carry credentials (user:password@). Give the bare server address and pass the token in t3-token.'
    )
    return null
  }
  if (url.search !== '' || url.hash !== '' || text.includes('?') || text.includes('#')) {
    problems.add(
      't3-url',
      "must not carry a query string or fragment. Give the server's base address only, e.g. https://t3.example.com."
    )
    return null
  }
  return text
}

/** How to issue a T3 token with the rights the loop needs, on either generation of T3. */
export const T3_TOKEN_HOWTO =
  '`t3 auth session issue --ttl 30d --token-only` (T3 v0.0.26 and later; up to v0.0.25 add `--role owner`)'

function isLoopback(url: URL): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)
}

const modeSchema = z.enum(MODES)

/**
 * Read the raw inputs into a Config. Pure; never throws for bad input.
 * Missing keys take their defaults.
 */
export function parseConfig(partial: Partial<RawInputs>, env: ConfigEnv = {}): ParsedConfig {
  const raw = { ...INPUT_DEFAULTS, ...stripUndefined(partial) } as RawInputs
  const get = (name: InputName): string => {
    const value = raw[name].trim()
    return value === '' ? INPUT_DEFAULTS[name] : value
  }

  const problems = new Problems()
  const mode = modeSchema.safeParse(get('mode').toLowerCase())
  if (!mode.success) {
    return {
      ok: false,
      errors: [
        `Input 'mode': ${quoted(get('mode'))} is not a mode. Use one of: off (do nothing), check (write nothing, verify the setup), watch (drive runs in flight, start none), on (drive and start runs), stop (emergency stop: hand every run back).`
      ]
    }
  }

  // The kill switch must always work: with mode off nothing but the mode is
  // read (no other input can fail the step, or cost time to check), and with
  // nothing allowlisted nothing else is read either.
  if (mode.data === 'off') {
    return {
      ok: true,
      off: true,
      why: 'The afk-loop is off (`mode` is `off`, the default), so it makes no request.',
      warnings: []
    }
  }
  if (splitList(raw.repos).length === 0) {
    return {
      ok: true,
      off: true,
      why: `The afk-loop is off: \`mode\` is \`${mode.data}\` but the \`repos\` allowlist is empty, so it makes no request.`,
      warnings: []
    }
  }
  const config = parseRest(raw, get, mode.data, problems, env)
  if (problems.list.length > 0 || config === null) return { ok: false, errors: problems.list }
  return { ok: true, off: false, config, warnings: configWarnings(config) }
}

function stripUndefined(partial: Partial<RawInputs>): Partial<RawInputs> {
  return Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined))
}

function parseRest(
  raw: RawInputs,
  get: (name: InputName) => string,
  mode: Mode,
  problems: Problems,
  env: ConfigEnv
): Config | null {
  const repos = parseRepos(raw.repos, problems)

  const githubToken = raw['github-token'].trim()
  if (githubToken === '') {
    problems.add(
      'github-token',
      'is empty. Leave it out to use the default `${{ github.token }}`, or pass a token with issues and pull-requests access.'
    )
  }

  const agent = get('agent')
  if (agent !== 't3' && agent !== 'workflow' && agent !== 'copilot') {
    problems.add(
      'agent',
      `${quoted(agent)} is not a backend. Use 't3' (a T3 Code server), 'workflow' (an agent workflow in each repository) or 'copilot' (GitHub's Copilot cloud agent).`
    )
  }
  const copilotToken = raw['copilot-token'].trim()
  if (agent === 'copilot') {
    if (copilotToken === '') {
      problems.add(
        'copilot-token',
        `is required with agent 'copilot': a fine-grained personal access token or GitHub App user token with the repository permission "Agent tasks" (read and write), passed from a secret.`
      )
    } else if (/^ghs_/.test(copilotToken) || copilotToken === raw['github-token'].trim()) {
      problems.add(
        'copilot-token',
        `is a server-to-server token (GITHUB_TOKEN or a GitHub App installation token), which GitHub's agent tasks API refuses. Pass a user token: a fine-grained personal access token or a GitHub App user token with "Agent tasks" (read and write).`
      )
    }
  }
  const t3Url = parseT3Url(raw['t3-url'], problems, env)
  const t3Token = raw['t3-token'].trim()
  if (agent === 't3') {
    if (raw['t3-url'].trim() === '') {
      problems.add(
        't3-url',
        `is required with agent 't3' and mode ${quoted(mode)}. Set it to your T3 Code server, e.g. https://t3.example.com, or use agent: workflow.`
      )
    }
    if (t3Token === '') {
      problems.add(
        't3-token',
        `is required with agent 't3'. Issue one on the T3 host with ${T3_TOKEN_HOWTO} and pass it from a secret.`
      )
    }
  }
  const projects = parseProjects(raw['t3-projects'], problems)
  const model = parseModel(raw['t3-model'], problems)
  const runtimeMode = get('t3-runtime-mode')
  if (!(T3_RUNTIME_MODES as readonly string[]).includes(runtimeMode)) {
    problems.add(
      't3-runtime-mode',
      `${quoted(runtimeMode)} must be one of ${T3_RUNTIME_MODES.join(', ')}.`
    )
  }

  const workflowFile = get('agent-workflow')
  if (!/^[\w.-]+\.ya?ml$/.test(workflowFile) && !/^\d+$/.test(workflowFile)) {
    problems.add(
      'agent-workflow',
      `${quoted(workflowFile)} must be a workflow file name in .github/workflows (e.g. afk-agent.yml) or a workflow id.`
    )
  }

  const delivery = get('delivery')
  if (delivery !== 'pull-request' && delivery !== 'trunk') {
    problems.add('delivery', `${quoted(delivery)} must be 'pull-request' or 'trunk'.`)
  } else if (delivery === 'trunk' && agent === 'copilot') {
    problems.add(
      'delivery',
      `'trunk' can't be used with agent 'copilot': the Copilot cloud agent always works on its own branch and opens a pull request. Use delivery: pull-request.`
    )
  }

  const labels = {
    ready: get('ready-label'),
    inProgress: get('in-progress-label'),
    human: get('human-label')
  }
  const labelInputs: [InputName, string][] = [
    ['ready-label', labels.ready],
    ['in-progress-label', labels.inProgress],
    ['human-label', labels.human]
  ]
  for (const [input, label] of labelInputs) {
    if (label.length > 50 || label.includes(',')) {
      problems.add(
        input,
        `${quoted(label)} is not a usable label: at most 50 characters, no commas.`
      )
    }
  }
  if (new Set(labelInputs.map(([, l]) => l.toLowerCase())).size !== labelInputs.length) {
    problems.add(
      'in-progress-label',
      'the ready, in-progress and human labels must be three different labels.'
    )
  }

  const maxFixForward = parseInteger(get('max-fix-forward'), 0, MAX_FIX_FORWARD_LIMIT)
  if (maxFixForward === null) {
    problems.add(
      'max-fix-forward',
      `${quoted(get('max-fix-forward'))} must be a whole number from 0 to ${MAX_FIX_FORWARD_LIMIT}.`
    )
  }
  const durations = {} as Record<
    'max-runtime' | 'prepush-timeout' | 'ci-start-timeout' | 'idle-grace',
    number
  >
  for (const input of [
    'max-runtime',
    'prepush-timeout',
    'ci-start-timeout',
    'idle-grace'
  ] as const) {
    const seconds = parseDuration(get(input))
    if (seconds === null) {
      problems.add(
        input,
        `${quoted(get(input))} is not a duration. Use a number with a unit, such as 90s, 20m, 6h or 1d (at least 1s).`
      )
    } else durations[input] = seconds
  }

  const maxConcurrent = parseInteger(get('max-concurrent'), 1, 100)
  if (maxConcurrent === null) {
    problems.add(
      'max-concurrent',
      `${quoted(get('max-concurrent'))} must be a whole number from 1 to 100 (to start no new runs, use mode: watch).`
    )
  }
  const maxPerRepo = parseInteger(get('max-concurrent-per-repo'), 1, 100)
  if (maxPerRepo === null) {
    problems.add(
      'max-concurrent-per-repo',
      `${quoted(get('max-concurrent-per-repo'))} must be a whole number from 1 to 100.`
    )
  }

  const trusted = splitList(get('trusted-associations')).map((a) => a.toUpperCase())
  const badAssociations = trusted.filter(
    (a) => !(AUTHOR_ASSOCIATIONS as readonly string[]).includes(a)
  )
  if (badAssociations.length > 0 || trusted.length === 0) {
    problems.add(
      'trusted-associations',
      `${badAssociations.length ? `${quoted(badAssociations.join(', '))} ${badAssociations.length > 1 ? 'are' : 'is'} not` : 'needs at least one'} author association. Use a comma-separated list of ${AUTHOR_ASSOCIATIONS.join(', ')}.`
    )
  }

  const templates = {
    first: parseTemplate(raw['prompt-template'], 'prompt-template', 'first', problems),
    fixForward: parseTemplate(
      raw['fix-forward-prompt-template'],
      'fix-forward-prompt-template',
      'fixForward',
      problems
    )
  }

  const notify = {
    slackWebhook: parseUrl(raw['notify-slack-webhook'], 'notify-slack-webhook', problems, env, {
      secret: true
    }),
    webhookUrl: parseUrl(raw['notify-webhook-url'], 'notify-webhook-url', problems, env, {
      secret: true
    }),
    webhookSecret: raw['notify-webhook-secret'].trim() || null,
    mention: parseMention(raw['notify-mention'], problems)
  }
  if (notify.webhookSecret && !notify.webhookUrl) {
    problems.add(
      'notify-webhook-secret',
      'is set but notify-webhook-url is empty. Set the webhook URL too, or drop the secret.'
    )
  }

  const stateSecret = raw['state-secret'].trim() || null
  if (stateSecret !== null && stateSecret.length < 16) {
    problems.add(
      'state-secret',
      'is too short to be a secret: use at least 32 random characters (e.g. `openssl rand -hex 32`), stored as an Actions secret.'
    )
  }

  const dryRun = parseBoolean(raw['dry-run'])
  if (dryRun === null) {
    problems.add('dry-run', `${quoted(raw['dry-run'])} must be true or false.`)
  }
  const checkNotify = parseBoolean(raw['check-notify'])
  if (checkNotify === null) {
    problems.add('check-notify', `${quoted(raw['check-notify'])} must be true or false.`)
  }
  const dashboard = parseBoolean(raw.dashboard)
  if (dashboard === null) {
    problems.add('dashboard', `${quoted(raw.dashboard)} must be true or false.`)
  }

  if (problems.list.length > 0) return null
  return {
    mode,
    repos,
    githubToken,
    agent: agent as Config['agent'],
    t3: {
      url: t3Url ? t3Url.replace(/\/+$/, '') : null,
      token: t3Token,
      projects,
      model,
      runtimeMode: runtimeMode as Config['t3']['runtimeMode']
    },
    workflow: { file: workflowFile, ref: raw['agent-workflow-ref'].trim() || null },
    copilot: {
      token: copilotToken,
      baseRef: raw['copilot-base-ref'].trim() || null,
      model: raw['copilot-model'].trim() || null
    },
    delivery: delivery as Delivery,
    labels,
    policy: {
      maxFixForwardAttempts: maxFixForward ?? 0,
      maxRuntimeSeconds: durations['max-runtime'],
      prepushTimeoutSeconds: durations['prepush-timeout'],
      ciStartTimeoutSeconds: durations['ci-start-timeout'],
      idleGraceSeconds: durations['idle-grace']
    },
    maxConcurrent: maxConcurrent ?? 1,
    maxConcurrentPerRepo: maxPerRepo ?? 1,
    trustedAssociations: trusted as AuthorAssociation[],
    ignoreChecks: splitList(raw['ignore-checks']),
    templates,
    notify,
    stateSecret,
    dryRun: dryRun ?? false,
    checkNotify: checkNotify ?? false,
    dashboard: dashboard ?? false
  }
}

function parseRepos(value: string, problems: Problems): RepoRef[] {
  const repos = new Map<string, RepoRef>()
  for (const item of splitList(value)) {
    const match = REPO_PATTERN.exec(item)
    if (!match) {
      problems.add(
        'repos',
        `${quoted(item)} is not a repository. List repositories as owner/name (e.g. octo-org/api), separated by commas or newlines.`
      )
      continue
    }
    const repo = repoRef(item)
    if (!repos.has(repo.key)) repos.set(repo.key, repo)
  }
  return [...repos.values()]
}

/** A repository reference for `owner/name` (already checked against REPO_PATTERN). */
export function repoRef(fullName: string): RepoRef {
  const [owner = '', name = ''] = fullName.split('/')
  return { owner, name, fullName, key: fullName.toLowerCase() }
}

function parseProjects(value: string, problems: Problems): Record<string, string> {
  const projects: Record<string, string> = {}
  for (const line of splitList(value)) {
    const match = /^([^=\s]+)\s*=\s*(\S+)$/.exec(line)
    if (!match || !REPO_PATTERN.test(match[1] ?? '')) {
      problems.add(
        't3-projects',
        `${quoted(line)} must look like owner/name=projectId, one mapping per line.`
      )
      continue
    }
    projects[(match[1] ?? '').toLowerCase()] = match[2] ?? ''
  }
  return projects
}

/** T3's provider slug: driver kinds and instance ids (`ProviderInstanceId`). */
export const T3_SLUG = /^[a-zA-Z][a-zA-Z0-9_-]*$/
export const T3_SLUG_MAX = 64
/** Drivers whose name is also their default instance id, on every release. */
export const T3_BUILTIN_DRIVERS = ['codex', 'claudeAgent', 'cursor', 'opencode'] as const

/**
 * `[driver/]instance:model` (e.g. `codex:gpt-5-codex`, `codex/codex_work:gpt-5`) or JSON
 * `{"instanceId", "model", "provider"?}`. The provider (driver) is sent beside the
 * instance id so releases before v0.0.22, which know only `{provider, model}`,
 * decode it too; it defaults to the instance id for the built-in drivers.
 */
function parseModel(value: string, problems: Problems): T3ModelSelection | null {
  const text = value.trim()
  if (text === '') return null
  let candidate: { provider?: unknown; instanceId?: unknown; model?: unknown } | null = null
  if (text.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text)
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) candidate = parsed
    } catch {
      // reported below
    }
  } else {
    const match = /^(?:([^/:\s]+)\/)?([^/:\s]+):(\S+)$/.exec(text)
    if (match) {
      candidate = {
        ...(match[1] !== undefined ? { provider: match[1] } : {}),
        instanceId: match[2],
        model: match[3]
      }
    }
  }
  const slug = (v: unknown): v is string =>
    typeof v === 'string' && v.length <= T3_SLUG_MAX && T3_SLUG.test(v)
  if (candidate) {
    const { instanceId, model } = candidate
    const provider =
      candidate.provider ??
      ((T3_BUILTIN_DRIVERS as readonly unknown[]).includes(instanceId) ? instanceId : undefined)
    const modelOk = typeof model === 'string' && model.trim() !== ''
    if (slug(instanceId) && modelOk && (provider === undefined || slug(provider))) {
      return {
        ...(provider !== undefined ? { provider } : {}),
        instanceId,
        model: model.trim()
      }
    }
  }
  problems.add(
    't3-model',
    `${quoted(text)} must be instance:model (e.g. codex:gpt-5-codex), driver/instance:model for an instance of your own (e.g. codex/codex_work:gpt-5), or JSON {"instanceId": "...", "model": "..."}; an instance id starts with a letter, has only letters, digits, - and _, and is at most ${T3_SLUG_MAX} characters. Leave it empty to use the T3 project's default model.`
  )
  return null
}

function parseTemplate(
  value: string,
  input: InputName,
  kind: TemplateKind,
  problems: Problems
): string {
  const fallback = kind === 'first' ? DEFAULT_FIRST_TEMPLATE : DEFAULT_FIX_FORWARD_TEMPLATE
  if (value.trim() === '') return fallback
  const unknown = unknownPlaceholders(value, kind)
  if (unknown.length > 0) {
    problems.add(
      input,
      `unknown placeholder${unknown.length > 1 ? 's' : ''} ${clipList(unknown.map((u) => `{{${clipped(u)}}}`))}. See docs/prompt-templates.md for the placeholders this template can use.`
    )
  }
  return value
}

/** The first few items of a list, and how many more. */
function clipList(items: string[], max = 5): string {
  const shown = items.slice(0, max).join(', ')
  return items.length > max ? `${shown} and ${items.length - max} more` : shown
}

function parseMention(value: string, problems: Problems): string | null {
  const items = splitList(value)
  if (items.length === 0) return null
  const bad = items.filter((m) => !/^@[A-Za-z0-9-]+(\/[A-Za-z0-9._-]+)?$/.test(m))
  if (bad.length > 0) {
    problems.add(
      'notify-mention',
      `${quoted(bad.join(', '))} must be @user or @org/team, separated by commas.`
    )
    return null
  }
  return items.join(' ')
}

/**
 * Settings that can't all be meant, or that are risky but sometimes right:
 * reported as warnings, not errors.
 */
function configWarnings(config: Config): string[] {
  const p = config.policy
  const warnings: string[] = []
  const t3 = config.agent === 't3' && config.t3.url ? new URL(config.t3.url) : null
  if (t3?.protocol === 'http:' && !isLoopback(t3)) {
    warnings.push(
      "Input 't3-url' uses plain http, so 't3-token' and every prompt cross the network unencrypted. Use https (a TLS proxy, or a private network's own TLS such as Tailscale serve) unless the network is private."
    )
  }
  if (p.prepushTimeoutSeconds >= p.maxRuntimeSeconds) {
    warnings.push(
      "Input 'prepush-timeout' is not shorter than 'max-runtime', so a stalled agent is only caught by the runtime deadline."
    )
  }
  return warnings
}
