import { afterEach, describe, expect, it } from '@jest/globals'
import type { GitHubSandbox } from '../../sandbox/github/server.js'
import { LOOP, adapterFor, ref, seedStore, startGitHub } from '../../__fixtures__/github-world.js'
import { ConflictError } from '../../src/loop/ports.js'
import {
  DASHBOARD_LABEL,
  DASHBOARD_QUERY,
  associationFromPermission,
  pickDashboard,
  updateDashboardMutation,
  type DashboardNodes
} from '../../src/github/dashboard.js'
import { githubSchema } from '../../sandbox/github/graphql.js'
import { queryCost } from '../../sandbox/github/cost.js'
import { parse, validate } from 'graphql'
import { sameIdentity } from '../../src/github/adapter.js'

const MARKER = '<!-- afk-loop:dashboard'
const repo = { owner: 'acme', name: 'widgets', fullName: 'acme/widgets', key: 'acme/widgets' }
const isLoop = (login: string | null | undefined) => sameIdentity(login, 'afk-loop[bot]')

const node = (over: Partial<NonNullable<DashboardNodes[number]>>) => ({
  id: 'I_1',
  number: 1,
  url: 'https://github.com/acme/widgets/issues/1',
  body: `text\n${MARKER} v1\n{}\n-->`,
  state: 'OPEN',
  viewerDidAuthor: true,
  editor: null,
  userContentEdits: { nodes: [] },
  ...over
})

const read = (...nodes: ReturnType<typeof node>[]): DashboardNodes => nodes

describe('pickDashboard', () => {
  it('takes the first issue the loop authored with the marker', () => {
    const picked = pickDashboard(
      read(
        node({ id: 'I_0', viewerDidAuthor: false }),
        node({ id: 'I_x', body: 'no marker' }),
        node({ id: 'I_2' })
      ),
      MARKER,
      isLoop,
      true
    )
    expect(picked?.id).toBe('I_2')
    expect(picked?.editorsSinceLoop).toEqual([])
    expect(pickDashboard(read(), MARKER, isLoop, true)).toBeNull()
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
      isLoop,
      true
    )
    expect(picked?.editorsSinceLoop).toEqual(['carol', 'bob'])
  })

  it('counts the last editor even when the edit history is not there', () => {
    const picked = pickDashboard(
      read(node({ editor: { login: 'dave' }, userContentEdits: null })),
      MARKER,
      isLoop,
      true
    )
    expect(picked?.editorsSinceLoop).toEqual(['dave'])
  })

  it('takes an open dashboard before a closed one, and says how it was found', () => {
    const closedOnly = pickDashboard(
      read(node({ id: 'I_c', state: 'CLOSED' })),
      MARKER,
      isLoop,
      true
    )
    expect(closedOnly).toMatchObject({ id: 'I_c', closed: true, labelled: true })
    const both = pickDashboard(
      read(node({ id: 'I_c', state: 'CLOSED' }), node({ id: 'I_o' })),
      MARKER,
      isLoop,
      false
    )
    expect(both).toMatchObject({ id: 'I_o', closed: false, labelled: false })
  })
})

describe('the dashboard documents', () => {
  const schema = githubSchema()

  it("find it in one query that is valid against GitHub's schema and costs 1 point", () => {
    expect(validate(schema, parse(DASHBOARD_QUERY))).toEqual([])
    expect(queryCost(schema, parse(DASHBOARD_QUERY))).toMatchObject({ requests: 42, cost: 1 })
  })

  it('write only what the dashboard needs, in one mutation', () => {
    expect(updateDashboardMutation({ body: false, reopen: false, label: false })).toBeNull()
    const all = updateDashboardMutation({ body: true, reopen: true, label: true }) ?? ''
    expect(validate(schema, parse(all))).toEqual([])
    expect(all).toContain('updateIssue(input: { id: $id, body: $body, state: OPEN })')
    expect(all).toContain('addLabelsToLabelable(input: { labelableId: $id, labelIds: [$label] })')
    const labelOnly = updateDashboardMutation({ body: false, reopen: false, label: true }) ?? ''
    expect(validate(schema, parse(labelOnly))).toEqual([])
    expect(labelOnly).not.toContain('updateIssue')
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
  const VIEWER = 'afk-loop[bot]'
  const body = (text: string) => `${text}\n${MARKER} v1\n{}\n-->`
  const r = ref('acme/widgets')

  async function start(options: { ghec?: boolean } = {}) {
    const store = seedStore(['acme/widgets'])
    sandbox = await startGitHub(store, options.ghec ? { createdByMatchesNoApp: true } : {})
    const port = adapterFor(sandbox, ['acme/widgets']).dashboard
    if (!port) throw new Error('the adapter has no dashboard port')
    const s = sandbox
    /** GraphQL reads, writes and points one call costs. */
    const measure = async <T>(call: () => Promise<T>) => {
      const before = { ...s.counts, writes: s.writes }
      const value = await call()
      return {
        value,
        reads: s.counts['graphql-read'] - before['graphql-read'],
        writes: s.writes - before.writes,
        points: s.counts.points - before.points
      }
    }
    return { store, port, measure }
  }

  /** A dashboard an earlier release opened: by the loop, with the marker, without the label. */
  const unlabelled = (store: ReturnType<typeof seedStore>, text = 'old') =>
    store.addIssue('acme/widgets', {
      title: 'afk-loop dashboard',
      body: body(text),
      author: LOOP,
      authorAssociation: 'NONE'
    })

  it('creates the dashboard with its label, finds it again, and refuses to overwrite a body edited meanwhile', async () => {
    const { store, port, measure } = await start()
    store.permissions.set('acme/widgets:maint', 'write')
    // Nothing yet: the label and the viewer's issues are looked at in one query (1 point).
    const none = await measure(() => port.readDashboard(r, VIEWER, MARKER))
    expect(none).toMatchObject({ value: null, reads: 1, points: 1 })
    const created = await port.createDashboard(r, 'afk-loop dashboard', body('hello'))
    expect(created).toMatchObject({ labelled: true, closed: false })
    const label = store.repo('acme/widgets').labels.find((l) => l.name === DASHBOARD_LABEL)
    expect(label).toMatchObject({ color: '5319e7' })
    expect(label?.description).toMatch(/dashboard/)
    expect(store.issue('acme/widgets', created.number).labels).toEqual([DASHBOARD_LABEL])
    // Found by its label: one query, one point.
    const found = await measure(() => port.readDashboard(r, VIEWER, MARKER))
    expect(found).toMatchObject({ reads: 1, points: 1, writes: 0 })
    expect(found.value).toEqual({ ...created, editorsSinceLoop: [] })
    // A maintainer edits between the tick's read and its write: the write is refused.
    const issue = store.issue('acme/widgets', created.number)
    store.editIssueBody(issue, 'maint', body('hi'))
    await expect(port.updateDashboard(r, created, 'new')).rejects.toThrow(ConflictError)
    expect(issue.body).toContain('hi')
    const again = await port.readDashboard(r, VIEWER, MARKER)
    expect(again?.editorsSinceLoop).toEqual(['maint'])
    expect(await port.associationOf(r, 'maint')).toBe('COLLABORATOR')
    expect(await port.associationOf(r, 'stranger')).toBe('NONE')
    if (!again) throw new Error('not found')
    await port.updateDashboard(r, again, body('bye'))
    expect((await port.readDashboard(r, VIEWER, MARKER))?.editorsSinceLoop).toEqual([])
    await expect(port.readDashboard(ref('acme/other'), VIEWER, MARKER)).rejects.toThrow(
      /not in the repos allowlist/
    )
  })

  it('finds a dashboard an earlier release opened without the label, and labels it once', async () => {
    const { store, port, measure } = await start()
    const old = unlabelled(store)
    const first = await measure(() => port.readDashboard(r, VIEWER, MARKER))
    expect(first).toMatchObject({ reads: 1, points: 1 })
    expect(first.value).toMatchObject({ number: old.number, labelled: false, closed: false })
    if (!first.value) throw new Error('not found')
    // The label only (the body is unchanged): no re-read, one mutation, plus the label's creation.
    const write = await measure(() => port.updateDashboard(r, first.value!, null))
    expect(write).toMatchObject({ reads: 0, writes: 2 })
    expect(sandbox?.log.filter((l) => /write/.test(l))).toEqual([
      'rest-write POST /repos/acme/widgets/labels',
      'graphql-write POST /graphql'
    ])
    expect(old.labels).toEqual([DASHBOARD_LABEL])
    expect(old.body).toBe(body('old'))
    // From now on it is found by its label.
    const next = await measure(() => port.readDashboard(r, VIEWER, MARKER))
    expect(next).toMatchObject({ reads: 1, points: 1 })
    expect(next.value).toMatchObject({ number: old.number, labelled: true })
    expect(store.repo('acme/widgets').issues.filter((i) => i.author === LOOP)).toHaveLength(1)
  })

  it('on GitHub Enterprise Cloud, where createdBy matches no app, still finds it by its label', async () => {
    const { store, port } = await start({ ghec: true })
    // The stand-in really is GHEC-like: the unlabelled dashboard is invisible to createdBy.
    const old = unlabelled(store)
    expect(await port.readDashboard(r, VIEWER, MARKER)).toBeNull()
    store.addLabel(store.repo('acme/widgets'), old, DASHBOARD_LABEL, 'maint')
    expect(await port.readDashboard(r, VIEWER, MARKER)).toMatchObject({
      number: old.number,
      labelled: true
    })
  })

  it('finds it by its label behind 25 other open issues by the same login', async () => {
    const { store, port, measure } = await start()
    // GITHUB_TOKEN's identity is shared: other workflows opened issues as it first.
    for (let i = 0; i < 25; i++)
      store.addIssue('acme/widgets', {
        title: `other ${i}`,
        author: LOOP,
        body: 'not mine to keep'
      })
    expect(await port.readDashboard(r, VIEWER, MARKER)).toBeNull()
    const created = await port.createDashboard(r, 'afk-loop dashboard', body('mine'))
    const found = await measure(() => port.readDashboard(r, VIEWER, MARKER))
    expect(found).toMatchObject({ reads: 1, points: 1 })
    expect(found.value).toMatchObject({ number: created.number, labelled: true })
    // Without its label it would be past the 20 issues the viewer's lookup reads
    // (as it was for earlier releases, which then opened a dashboard every tick).
    store.removeLabel(store.issue('acme/widgets', created.number), DASHBOARD_LABEL, 'maint')
    expect(await port.readDashboard(r, VIEWER, MARKER)).toBeNull()
  })

  it('trusts only an issue the loop authored: a labelled look-alike by someone else is not it', async () => {
    const { store, port } = await start()
    const fake = store.addIssue('acme/widgets', {
      title: 'afk-loop dashboard',
      body: body('forged'),
      author: 'mallory',
      labels: [DASHBOARD_LABEL]
    })
    expect(await port.readDashboard(r, VIEWER, MARKER)).toBeNull()
    const created = await port.createDashboard(r, 'afk-loop dashboard', body('real'))
    expect(created.number).not.toBe(fake.number)
    expect((await port.readDashboard(r, VIEWER, MARKER))?.number).toBe(created.number)
  })

  it('reopens a closed dashboard (and puts back a removed label) instead of opening another', async () => {
    const { store, port } = await start()
    expect(await port.readDashboard(r, VIEWER, MARKER)).toBeNull()
    const created = await port.createDashboard(r, 'afk-loop dashboard', body('kept'))
    const issue = store.issue('acme/widgets', created.number)
    store.closeIssue(issue, 'maint')
    const closed = await port.readDashboard(r, VIEWER, MARKER)
    expect(closed).toMatchObject({ number: created.number, closed: true, labelled: true })
    await port.updateDashboard(r, closed!, null)
    expect(issue.state).toBe('OPEN')
    expect(issue.events.at(-1)).toMatchObject({ type: 'ReopenedEvent', actor: LOOP })
    // The label removed: found among the viewer's issues, labelled again.
    store.removeLabel(issue, DASHBOARD_LABEL, 'maint')
    const bare = await port.readDashboard(r, VIEWER, MARKER)
    expect(bare).toMatchObject({ number: created.number, labelled: false, closed: false })
    await port.updateDashboard(r, bare!, body('changed'))
    expect(issue.labels).toEqual([DASHBOARD_LABEL])
    expect(issue.body).toBe(body('changed'))
    expect(store.repo('acme/widgets').issues).toHaveLength(1)
  })
})
