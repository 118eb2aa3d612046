import { describe, expect, it, jest } from '@jest/globals'
import {
  INPUT_DEFAULTS,
  parseConfig,
  parseDuration,
  splitList,
  type RawInputs
} from '../src/config.js'
import { readInputs } from '../src/main.js'
import { pathologicalInputs } from '../sandbox/linear-time.js'

const valid: Partial<RawInputs> = {
  mode: 'on',
  repos: 'acme/widgets\nacme/gadgets, Acme/Widgets',
  'github-token': 'ghs_secret_token',
  't3-url': 'https://t3.example.com/',
  't3-token': 't3-secret'
}

function errorsOf(inputs: Partial<RawInputs>): string[] {
  const parsed = parseConfig(inputs)
  if (parsed.ok) throw new Error(`expected errors, got ${JSON.stringify(parsed)}`)
  return parsed.errors
}

describe('parseConfig', () => {
  it('reads a valid configuration with defaults for the rest', () => {
    const parsed = parseConfig(valid)
    expect(parsed.ok && !parsed.off).toBe(true)
    if (!parsed.ok || parsed.off) return
    const c = parsed.config
    expect(c.repos.map((r) => r.fullName)).toEqual(['acme/widgets', 'acme/gadgets'])
    expect(c.t3.url).toBe('https://t3.example.com')
    expect(c.policy).toEqual({
      maxFixForwardAttempts: 3,
      maxRuntimeSeconds: 6 * 3600,
      prepushTimeoutSeconds: 2 * 3600,
      ciStartTimeoutSeconds: 20 * 60,
      idleGraceSeconds: 10 * 60
    })
    expect(c.labels).toEqual({
      ready: 'ready-for-agent',
      inProgress: 'agent-in-progress',
      human: 'ready-for-human'
    })
    expect([c.maxConcurrent, c.maxConcurrentPerRepo, c.delivery, c.dryRun]).toEqual([
      3,
      1,
      'pull-request',
      false
    ])
    expect(c.trustedAssociations).toEqual(['OWNER', 'MEMBER', 'COLLABORATOR'])
  })

  it.each([
    ['mode', { mode: 'yes' }, 'one of: off'],
    ['max-runtime', { 'max-runtime': 'forever' }, 'not a duration'],
    ['repos', { repos: 'not a repo' }, 'owner/name'],
    ['t3-url', { 't3-url': '' }, 'required with agent'],
    ['t3-token', { 't3-token': '' }, 'required with agent'],
    ['max-fix-forward', { 'max-fix-forward': '-1' }, '0 to 20'],
    ['max-fix-forward', { 'max-fix-forward': '21' }, '0 to 20'],
    ['idle-grace', { 'idle-grace': '600' }, 'with a unit'],
    ['ci-start-timeout', { 'ci-start-timeout': '10ms' }, 'at least 1s'],
    ['agent', { agent: 'claude' }, "'copilot'"],
    ['delivery', { delivery: 'email' }, 'trunk'],
    ['max-concurrent', { 'max-concurrent': '0' }, 'mode: watch'],
    ['max-concurrent-per-repo', { 'max-concurrent-per-repo': 'x' }, '1 to 100'],
    ['trusted-associations', { 'trusted-associations': 'OWNER,FRIEND' }, 'FRIEND'],
    ['trusted-associations', { 'trusted-associations': ',' }, 'at least one'],
    [
      'prompt-template',
      { 'prompt-template': 'Fix {{issue}} {{secret_sauce}}' },
      '{{secret_sauce}}'
    ],
    [
      'fix-forward-prompt-template',
      { 'fix-forward-prompt-template': '{{default_branch}}' },
      '{{default_branch}}'
    ],
    ['t3-projects', { 't3-projects': 'acme/widgets' }, 'owner/name=projectId'],
    ['t3-model', { 't3-model': 'gpt' }, 'instance:model'],
    ['t3-runtime-mode', { 't3-runtime-mode': 'yolo' }, 'full-access'],
    ['agent-workflow', { 'agent-workflow': '../evil.sh' }, 'workflow file name'],
    ['ready-label', { 'ready-label': 'a,b' }, 'no commas'],
    ['in-progress-label', { 'human-label': 'ready-for-agent' }, 'three different labels'],
    ['notify-webhook-url', { 'notify-webhook-url': 'http://hooks.example.com/x' }, 'https://'],
    ['notify-slack-webhook', { 'notify-slack-webhook': 'not a url' }, 'not a URL'],
    ['notify-webhook-secret', { 'notify-webhook-secret': 's3cret-value' }, 'webhook URL too'],
    ['notify-mention', { 'notify-mention': 'team' }, '@user or @org/team'],
    ['dry-run', { 'dry-run': 'maybe' }, 'true or false'],
    ['github-token', { 'github-token': ' ' }, 'github.token']
  ])('names %s when it is invalid', (input, override, fix) => {
    const errors = errorsOf({ ...valid, ...override })
    expect(errors.some((e) => e.startsWith(`Input '${input}'`) && e.includes(fix))).toBe(true)
  })

  it('reports every problem at once', () => {
    const errors = errorsOf({ ...valid, 'max-runtime': 'forever', delivery: 'email', repos: 'x' })
    expect(errors).toHaveLength(3)
  })

  it('never puts a secret in an error message', () => {
    const secrets = {
      'notify-slack-webhook': 'http://hooks.slack.com/services/T000/B000/SECRETPART',
      'notify-webhook-url': 'ftp://user:pw-SECRETPART@example.com',
      'github-token': 'ghs_SECRETPART'
    }
    const errors = errorsOf({ ...valid, ...secrets, 'max-runtime': 'forever' })
    expect(errors.join('\n')).not.toContain('SECRETPART')
  })

  it('accepts loopback http webhooks only when the test-only switch is on', () => {
    const hook = { 'notify-webhook-url': 'http://127.0.0.1:9999/hook' }
    expect(parseConfig({ ...valid, ...hook }).ok).toBe(false)
    const parsed = parseConfig({ ...valid, ...hook }, { allowLoopbackHttp: true })
    expect(parsed.ok && !parsed.off && parsed.config.notify.webhookUrl).toBe(
      'http://127.0.0.1:9999/hook'
    )
  })

  it('is off by default, and off with an empty allowlist, whatever else is set', () => {
    const none = parseConfig({})
    expect(none).toMatchObject({ ok: true, off: true })
    expect(none.ok && none.off && none.why).toContain('`mode` is `off`')
    const empty = parseConfig({ mode: 'on', repos: '  \n # nothing yet\n' })
    expect(empty.ok && empty.off && empty.why).toContain('allowlist is empty')
  })

  it('reads nothing but the mode when the mode is off: invalid inputs neither fail nor warn', () => {
    const parsed = parseConfig({
      ...valid,
      mode: 'off',
      'max-runtime': 'forever',
      'prompt-template': '{{nope}}',
      'notify-webhook-url': 'http://plain.example'
    })
    expect(parsed).toEqual({ ok: true, off: true, why: expect.any(String), warnings: [] })
    const empty = parseConfig({ mode: 'on', repos: '', 'max-runtime': 'forever' })
    expect(empty).toMatchObject({ ok: true, off: true, warnings: [] })
  })

  it('warns about deadlines that cannot all be meant', () => {
    const parsed = parseConfig({ ...valid, 'prepush-timeout': '7h' })
    expect(parsed.ok && !parsed.off && parsed.warnings.join()).toContain('prepush-timeout')
  })

  it('warns when the T3 token would cross the network over plain http, not on loopback', () => {
    const warningsOf = (url: string) => {
      const parsed = parseConfig({ ...valid, 't3-url': url })
      return parsed.ok && !parsed.off ? parsed.warnings.join('\n') : 'not ok'
    }
    expect(warningsOf('http://t3.internal:3773')).toContain("'t3-url' uses plain http")
    expect(warningsOf('http://127.0.0.1:3773')).not.toContain('t3-url')
    expect(warningsOf('https://t3.example.com')).not.toContain('t3-url')
    // The token itself is never in the warning.
    expect(warningsOf('http://t3.internal:3773')).not.toContain('t3-secret')
  })

  it('reads the workflow backend without T3 settings, and T3 project maps and models', () => {
    const wf = parseConfig({
      ...valid,
      agent: 'workflow',
      't3-url': '',
      't3-token': '',
      'agent-workflow-ref': 'v2'
    })
    expect(wf.ok && !wf.off && wf.config.workflow).toEqual({ file: 'afk-agent.yml', ref: 'v2' })
    const t3 = parseConfig({
      ...valid,
      't3-projects': 'Acme/Widgets = proj-1',
      't3-model': '{"instanceId":"codex","model":"gpt-5"}'
    })
    expect(t3.ok && !t3.off && t3.config.t3.projects).toEqual({ 'acme/widgets': 'proj-1' })
    expect(t3.ok && !t3.off && t3.config.t3.model).toEqual({
      provider: 'codex',
      instanceId: 'codex',
      model: 'gpt-5'
    })
    const colon = parseConfig({
      ...valid,
      't3-model': 'codex:gpt-5-codex',
      'notify-mention': '@acme/team, @sam',
      'dry-run': 'TRUE'
    })
    expect(
      colon.ok &&
        !colon.off && [colon.config.t3.model, colon.config.notify.mention, colon.config.dryRun]
    ).toEqual([
      { provider: 'codex', instanceId: 'codex', model: 'gpt-5-codex' },
      '@acme/team @sam',
      true
    ])
  })

  describe('t3-model: only forms T3 decodes (ProviderInstanceId: a letter, then letters, digits, - or _, at most 64)', () => {
    const model = (value: string) => {
      const parsed = parseConfig({ ...valid, 't3-model': value })
      return parsed.ok && !parsed.off ? parsed.config.t3.model : parsed.ok ? null : parsed.errors
    }
    it.each([
      [
        'claudeAgent:claude-sonnet-4-5',
        { provider: 'claudeAgent', instanceId: 'claudeAgent', model: 'claude-sonnet-4-5' }
      ],
      ['codex/codex_work:gpt-5', { provider: 'codex', instanceId: 'codex_work', model: 'gpt-5' }],
      ['codex_work:gpt-5', { instanceId: 'codex_work', model: 'gpt-5' }],
      [`a${'b'.repeat(63)}:m`, { instanceId: `a${'b'.repeat(63)}`, model: 'm' }],
      [
        '{"instanceId":"work","provider":"codex","model":" gpt-5 "}',
        { provider: 'codex', instanceId: 'work', model: 'gpt-5' }
      ]
    ])('accepts %s', (value, expected) => {
      expect(model(value)).toEqual(expected)
    })
    it.each([
      'gpt-5',
      '1codex:gpt-5',
      'co dex:gpt-5',
      'codex.work:gpt-5',
      `a${'b'.repeat(64)}:m`,
      'codex:',
      'bad driver/codex:gpt-5',
      '{"instanceId":"codex"}',
      '{"instanceId":"codex","model":"   "}',
      '{"instanceId":"-x","model":"m"}',
      '["codex","gpt-5"]',
      '{not json'
    ])('rejects %s naming t3-model', (value) => {
      const errors = model(value)
      expect(Array.isArray(errors) && errors.join('\n')).toMatch(/Input 't3-model'.*instance:model/)
    })
  })

  describe('t3-url', () => {
    const errorsOf = (url: string) => {
      const parsed = parseConfig({ ...valid, 't3-url': url })
      return parsed.ok ? '' : parsed.errors.join('\n')
    }
    it('refuses credentials and query strings, naming t3-url and never echoing the value', () => {
      for (const url of [
        'https://me:pw@t3.internal.test',
        'https://t3.internal.test/?token=abc',
        'https://t3.internal.test/#x'
      ]) {
        const errors = errorsOf(url)
        expect(errors).toMatch(/Input 't3-url'/)
        expect(errors).not.toContain('internal.test')
      }
      expect(errorsOf('https://t3.example.com/base')).toBe('')
    })
  })
})

describe('parseDuration', () => {
  it.each([
    ['90s', 90],
    ['20m', 1200],
    ['6h', 21600],
    ['1d', 86400],
    [' 1.5h ', 5400],
    ['600', null],
    ['forever', null],
    ['500ms', null],
    ['', null]
  ])('%p → %p', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds)
  })
})

describe('splitList', () => {
  it('splits on commas and newlines, dropping blanks and comments', () => {
    expect(splitList('a, b\n\n# c\nd,')).toEqual(['a', 'b', 'd'])
  })
})

describe('readInputs', () => {
  it('reads every input and masks each secret the moment it is read', () => {
    const values: Record<string, string> = {
      'github-token': 'tok',
      't3-token': 't3',
      'notify-webhook-secret': 'shh',
      'notify-slack-webhook': 'https://hooks/x',
      'notify-webhook-url': '',
      mode: 'on'
    }
    const order: string[] = []
    const getInput = jest.fn((name: string) => {
      order.push(`get ${name}`)
      return values[name] ?? ''
    })
    const setSecret = jest.fn((value: string) => {
      order.push(`mask ${value}`)
    })
    const raw = readInputs(getInput, setSecret)
    expect(Object.keys(raw).sort()).toEqual(Object.keys(INPUT_DEFAULTS).sort())
    expect(setSecret.mock.calls.map(([v]) => v).sort()).toEqual([
      'https://hooks/x',
      'shh',
      't3',
      'tok'
    ])
    // Each secret is masked right after it is read, before the next input.
    expect(order[order.indexOf('get t3-token') + 1]).toBe('mask t3')
  })
})

describe('pathological inputs', () => {
  // The old template check (`/\{\{\s*([^}]*?)\s*\}\}/g`) backtracked cubically:
  // `{{` and 5,000 spaces took 40 s. How the checks scale is measured by
  // `npm run bench` (sandbox/linear-time.ts: ten times the input, about ten
  // times the time); here, what they answer.
  const pathological = (n: number): Partial<RawInputs> => ({ ...valid, ...pathologicalInputs(n) })

  it('answers 100,000-character pathological inputs with errors that each name their input', () => {
    const parsed = parseConfig(pathological(100_000))
    expect(parsed.ok).toBe(false)
    if (parsed.ok) return
    for (const error of parsed.errors) expect(error).toMatch(/^Input '[a-z0-9-]+'/)
    const named = parsed.errors.map((e) => /^Input '([a-z0-9-]+)'/.exec(e)?.[1])
    expect(named).toEqual(expect.arrayContaining(['repos', 'max-runtime', 'ready-label']))
  })

  it('with mode off, nothing but the mode is read: no other input, however bad, can fail the step', () => {
    const inputs = { ...pathological(1_000_000), 'max-runtime': 'forever', mode: 'off' }
    expect(parseConfig(inputs)).toMatchObject({ ok: true, off: true, warnings: [] })
    expect(parseConfig({ ...inputs, mode: 'on' }).ok).toBe(false)
  })
})

describe('agent: copilot', () => {
  const copilot: Partial<RawInputs> = {
    mode: 'on',
    repos: 'acme/widgets',
    'github-token': 'ghs_secret_token',
    agent: 'copilot',
    'copilot-token': 'github_pat_user_secret'
  }
  it('reads its token, base branch and model', () => {
    const parsed = parseConfig({
      ...copilot,
      'copilot-base-ref': 'develop',
      'copilot-model': 'gpt-5.4'
    })
    if (!parsed.ok || parsed.off) throw new Error('expected a config')
    expect(parsed.config.agent).toBe('copilot')
    expect(parsed.config.copilot).toEqual({
      token: 'github_pat_user_secret',
      baseRef: 'develop',
      model: 'gpt-5.4'
    })
    const plain = parseConfig(copilot)
    if (!plain.ok || plain.off) throw new Error('expected a config')
    expect(plain.config.copilot).toEqual({
      token: 'github_pat_user_secret',
      baseRef: null,
      model: null
    })
  })
  it('needs a user token, not an installation token or the loop token', () => {
    expect(errorsOf({ ...copilot, 'copilot-token': '' }).join('\n')).toMatch(
      /copilot-token.*required with agent 'copilot'.*"Agent tasks" \(read and write\)/
    )
    for (const token of ['ghs_installation', 'ghs_secret_token']) {
      const errors = errorsOf({ ...copilot, 'copilot-token': token }).join('\n')
      expect(errors).toMatch(/copilot-token.*server-to-server token/)
      expect(errors).not.toContain(token)
    }
    expect(
      errorsOf({
        ...copilot,
        'github-token': 'github_pat_same',
        'copilot-token': 'github_pat_same'
      }).join('\n')
    ).toMatch(/server-to-server token/)
  })
  it('refuses trunk delivery with a clear message', () => {
    expect(errorsOf({ ...copilot, delivery: 'trunk' }).join('\n')).toMatch(
      /delivery.*'trunk' can't be used with agent 'copilot'.*opens a pull request.*delivery: pull-request/
    )
    expect(parseConfig({ ...valid, delivery: 'trunk' }).ok).toBe(true)
  })
  it('masks copilot-token', async () => {
    const { SECRET_INPUTS } = await import('../src/config.js')
    expect(SECRET_INPUTS).toContain('copilot-token')
  })
})

describe('error messages with huge or secret inputs', () => {
  const names = Object.keys(INPUT_DEFAULTS) as (keyof RawInputs)[]
  const huge = 'x'.repeat(100_000)
  const bad: Record<string, string> = {
    repos: huge,
    't3-url': `not a url ${huge}`,
    'notify-slack-webhook': `http://${huge}`,
    'notify-webhook-url': `nope ${huge}`,
    'prompt-template': `{{${'y'.repeat(100_000)}}}`,
    'fix-forward-prompt-template': `{{${'y'.repeat(100_000)}}}`,
    'notify-mention': `@${huge}`
  }

  it.each(names)(
    '%s: a 100,000-character value is quoted by its first 80 characters at most',
    (name) => {
      const parsed = parseConfig({ ...valid, [name]: bad[name] ?? huge })
      const errors = parsed.ok ? [] : parsed.errors
      const text = errors.join('\n')
      expect(text.length).toBeLessThan(3_000)
      expect(text).not.toContain('x'.repeat(81))
      expect(text).not.toContain('y'.repeat(81))
      if (errors.some((e) => e.includes('x'.repeat(80)) || e.includes('y'.repeat(80)))) {
        expect(text).toMatch(/…'? \(1000\d\d characters\)/)
      }
    }
  )

  it('says how long a clipped value was', () => {
    expect(errorsOf({ ...valid, 'max-runtime': huge })).toEqual([
      `Input 'max-runtime': '${'x'.repeat(80)}…' (100000 characters) is not a duration. Use a number with a unit, such as 90s, 20m, 6h or 1d (at least 1s).`
    ])
  })

  it('reports a few problems per input and counts the rest', () => {
    const errors = errorsOf({
      ...valid,
      repos: Array.from({ length: 10_000 }, (_, i) => `bad repo ${i}`).join(',')
    })
    expect(errors).toHaveLength(6)
    expect(errors[5]).toBe("Input 'repos': and 9995 more problem(s) like the ones above.")
    expect(errors.join('\n').length).toBeLessThan(2_000)
  })

  it.each([
    'github-token',
    't3-url',
    't3-token',
    'copilot-token',
    'notify-slack-webhook',
    'notify-webhook-url',
    'notify-webhook-secret',
    'state-secret'
  ] as const)('never shows any part of the secret input %s', (name) => {
    const secret = `SeCrEt${'z'.repeat(40)}`
    for (const value of [
      secret,
      `http://${secret}`,
      `not a url ${secret}`,
      `ghs_${secret}`,
      'short'
    ]) {
      const inputs: Partial<RawInputs> = {
        ...valid,
        agent: name === 'copilot-token' ? 'copilot' : 't3',
        [name]: value
      }
      if (name === 'notify-webhook-secret') inputs['notify-webhook-url'] = ''
      const parsed = parseConfig(inputs)
      const text = parsed.ok ? '' : parsed.errors.join('\n')
      expect(text).not.toContain('SeCrEt')
      expect(text).not.toContain('zzzzzzzz')
      if (value === 'short' && !parsed.ok) expect(text).not.toContain("'short'")
    }
  })
})
