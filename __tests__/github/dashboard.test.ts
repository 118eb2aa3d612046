import { afterEach, describe, expect, it } from '@jest/globals'
import type { GitHubSandbox } from '../../sandbox/github/server.js'
import { adapterFor, ref, seedStore, startGitHub } from '../../__fixtures__/github-world.js'
import { ConflictError } from '../../src/loop/ports.js'
import {
  associationFromPermission,
  pickDashboard,
  type DashboardRead
} from '../../src/github/dashboard.js'
import { sameIdentity } from '../../src/github/adapter.js'

const MARKER = '<!-- afk-loop:dashboard'
const repo = { owner: 'acme', name: 'widgets', fullName: 'acme/widgets', key: 'acme/widgets' }
const isLoop = (login: string | null | undefined) => sameIdentity(login, 'afk-loop[bot]')

const node = (
  over: Partial<NonNullable<DashboardRead['repository']['issues']['nodes'][number]>>
) => ({
  id: 'I_1',
  number: 1,
  url: 'https://github.com/acme/widgets/issues/1',
  body: `text\n${MARKER} v1\n{}\n-->`,
  viewerDidAuthor: true,
  editor: null,
  userContentEdits: { nodes: [] },
  ...over
})

const read = (...nodes: ReturnType<typeof node>[]): DashboardRead => ({
  repository: { id: 'R_1', issues: { nodes } }
})

describe('pickDashboard', () => {
  it('takes the first issue the loop authored with the marker', () => {
    const picked = pickDashboard(
      read(
        node({ id: 'I_0', viewerDidAuthor: false }),
        node({ id: 'I_x', body: 'no marker' }),
        node({ id: 'I_2' })
      ),
      MARKER,
      isLoop
    )
    expect(picked.repositoryId).toBe('R_1')
    expect(picked.issue?.id).toBe('I_2')
    expect(picked.issue?.editorsSinceLoop).toEqual([])
    expect(pickDashboard(read(), MARKER, isLoop).issue).toBeNull()
  })

  it('lists every editor since the loop last edited, newest first', () => {
    const picked = pickDashboard(
      read(
        node({
          editor: { login: 'carol' },
          userContentEdits: {
            nodes: [
              { editedAt: '2026-01-01T00:00:00Z', editor: { login: 'mallory' } },
              { editedAt: '2026-01-02T00:00:00Z', editor: { login: 'afk-loop' } },
              { editedAt: '2026-01-03T00:00:00Z', editor: { login: 'bob' } },
              { editedAt: '2026-01-04T00:00:00Z', editor: { login: 'carol' } },
              null
            ]
          }
        })
      ),
      MARKER,
      isLoop
    )
    expect(picked.issue?.editorsSinceLoop).toEqual(['carol', 'bob'])
  })

  it('counts the last editor even when the edit history is not there', () => {
    const picked = pickDashboard(
      read(node({ editor: { login: 'dave' }, userContentEdits: null })),
      MARKER,
      isLoop
    )
    expect(picked.issue?.editorsSinceLoop).toEqual(['dave'])
  })
})

describe('associationFromPermission', () => {
  it('never trusts more than the permission says', () => {
    expect(associationFromPermission(repo, 'ACME', { permission: 'read' })).toBe('OWNER')
    expect(
      associationFromPermission(repo, 'm', { role_name: 'maintain', permission: 'write' })
    ).toBe('COLLABORATOR')
    expect(associationFromPermission(repo, 'w', { permission: 'write' })).toBe('COLLABORATOR')
    expect(associationFromPermission(repo, 't', { role_name: 'triage', permission: 'read' })).toBe(
      'NONE'
    )
    expect(associationFromPermission(repo, 'n', {})).toBe('NONE')
  })
})

describe('the adapter against the sandbox', () => {
  let sandbox: GitHubSandbox | null = null
  afterEach(async () => {
    await sandbox?.close()
    sandbox = null
  })

  it('creates the dashboard, finds it again, and refuses to overwrite a body edited meanwhile', async () => {
    const store = seedStore(['acme/widgets'])
    store.permissions.set('acme/widgets:maint', 'write')
    sandbox = await startGitHub(store)
    const adapter = adapterFor(sandbox, ['acme/widgets'])
    const port = adapter.dashboard
    if (!port) throw new Error('the adapter has no dashboard port')
    const r = ref('acme/widgets')
    expect(await port.readDashboard(r, 'afk-loop[bot]', MARKER)).toBeNull()
    const body = `hello\n${MARKER} v1\n{}\n-->`
    const created = await port.createDashboard(r, 'afk-loop dashboard', body)
    const found = await port.readDashboard(r, 'afk-loop[bot]', MARKER)
    expect(found).toEqual({ ...created, editorsSinceLoop: [] })
    // A maintainer edits between the tick's read and its write: the write is refused.
    const issue = store.issue('acme/widgets', created.number)
    store.editIssueBody(issue, 'maint', body.replace('hello', 'hi'))
    await expect(port.updateDashboard(r, created.id, 'new', body)).rejects.toThrow(ConflictError)
    expect(issue.body).toContain('hi')
    const again = await port.readDashboard(r, 'afk-loop[bot]', MARKER)
    expect(again?.editorsSinceLoop).toEqual(['maint'])
    expect(await port.associationOf(r, 'maint')).toBe('COLLABORATOR')
    expect(await port.associationOf(r, 'stranger')).toBe('NONE')
    await port.updateDashboard(r, created.id, `bye\n${MARKER} v1\n{}\n-->`, issue.body)
    expect((await port.readDashboard(r, 'afk-loop[bot]', MARKER))?.editorsSinceLoop).toEqual([])
    await expect(port.readDashboard(ref('acme/other'), 'afk-loop[bot]', MARKER)).rejects.toThrow(
      /not in the repos allowlist/
    )
  })
})
