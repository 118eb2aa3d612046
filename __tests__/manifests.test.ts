/**
 * The GitHub App manifests in docs/manifests: each passes the JSON schema
 * written from GitHub's documented manifest parameters, and asks for exactly
 * the permissions the example workflow's token step asks for (plus
 * `metadata: read`, which every App has) — no more, no less.
 */
import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { parse } from 'yaml'

const read = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'))
const schema = read('docs/manifests/manifest.schema.json') as object
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema)

const MANIFESTS: Record<string, string> = {
  'docs/manifests/loop-app.json': 'examples/afk-loop.yml',
  'docs/manifests/loop-app-workflow.json': 'examples/afk-loop-workflow-agent.yml',
  'docs/manifests/agent-app.json': 'examples/afk-agent.yml'
}

/**
 * The `permission-*` inputs of the example's create-github-app-token steps, as
 * manifest keys: their union, `write` over `read` (the agent's workflow mints
 * a read token for the agent and a write token for the push).
 */
function tokenPermissions(workflowPath: string): Record<string, string> {
  const workflow = parse(readFileSync(workflowPath, 'utf8')) as {
    jobs: Record<string, { steps: { uses?: string; with?: Record<string, string> }[] }>
  }
  const steps = Object.values(workflow.jobs)
    .flatMap((job) => job.steps)
    .filter((s) => s.uses?.startsWith('actions/create-github-app-token@'))
  const permissions: Record<string, string> = { metadata: 'read' }
  for (const step of steps) {
    for (const [key, value] of Object.entries(step.with ?? {})) {
      if (!key.startsWith('permission-')) continue
      const name = key.slice('permission-'.length).replace(/-/g, '_')
      if (permissions[name] !== 'write') permissions[name] = value
    }
  }
  return permissions
}

describe('GitHub App manifests', () => {
  it.each(Object.keys(MANIFESTS))('%s passes the manifest schema', (path) => {
    expect(validate(read(path)) ? [] : validate.errors).toEqual([])
  })

  it.each(Object.entries(MANIFESTS))(
    '%s asks for exactly what the token step of %s asks for',
    (path, workflow) => {
      const manifest = read(path) as { default_permissions: Record<string, string> }
      const wanted = tokenPermissions(workflow)
      expect(Object.keys(wanted).length).toBeGreaterThan(2)
      expect(manifest.default_permissions).toEqual(wanted)
    }
  )

  it('are private Apps that subscribe to no webhook event', () => {
    for (const path of Object.keys(MANIFESTS)) {
      expect(read(path)).toMatchObject({ public: false, default_events: [] })
    }
  })

  it('the schema refuses what GitHub would not take', () => {
    const ok = { url: 'https://example.com' }
    expect(validate(ok)).toBe(true)
    expect(validate({ name: 'x' })).toBe(false) // url is required
    expect(validate({ ...ok, permissions: {} })).toBe(false) // not a manifest key
    expect(validate({ ...ok, default_permissions: { issues: 'writ' } })).toBe(false)
    expect(validate({ ...ok, hook_attributes: { active: false } })).toBe(false)
    expect(validate({ ...ok, callback_urls: Array(11).fill('https://e.com') })).toBe(false)
  })
})
