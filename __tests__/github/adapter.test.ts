/**
 * The GitHub adapter against a loopback GitHub whose answers come from
 * GitHub's real schema: the read model for both deliveries, trust signals,
 * pagination and its cost, writes as single mutation documents, and the
 * failures (rate limits, partial writes, the allowlist).
 */
import { afterEach, describe, expect, it } from '@jest/globals'
import { encode } from '../../src/core/bookkeeping.js'
import { TRACKED_LABEL } from '../../src/github/adapter.js'
import { ConflictError, PartialWriteError, RateLimitedError } from '../../src/loop/ports.js'
import { endRecord, selectPushed } from '../../src/loop/run-view.js'
import type { GitHubSandbox } from '../../sandbox/github/server.js'
import {
  LABELS,
  LOOP,
  adapterFor,
  ref,
  seedRun,
  seedStore,
  startGitHub
} from '../../__fixtures__/github-world.js'

const REPO = 'acme/widgets'

/**
 * Pull requests from outsiders' forks (`drive-by-<i>/widgets`) that close an
 * issue, each with a commit on its head: numbered from `from`, on the branch
 * `branchOf(i)` names.
 */
function outsiderForkPulls(
  store: ReturnType<typeof seedStore>,
  issue: number,
  count: number,
  branchOf: (i: number) => string,
  from = 0
): void {
  for (let i = from; i < from + count; i++) {
    const fork = `drive-by-${i}/widgets`
    store.openPullRequest(REPO, {
      head: branchOf(i),
      author: `drive-by-${i}`,
      closes: [issue],
      headRepository: fork
    })
    store.commit(fork, branchOf(i), 'spam', `drive-by-${i}`)
  }
}
let sandbox: GitHubSandbox | null = null
afterEach(async () => {
  await sandbox?.close()
  sandbox = null
})

describe('readWorld', () => {
  it('maps a pull-request run: labels, status comment, the run PR with its head CI, label events', async () => {
    const store = seedStore([REPO])
    const { issue, record } = seedRun(store, REPO, 'Fix the parser')
    store.commit(REPO, 'afk/issue-1', 'first try', 'afk-agent')
    const old = store.headOf(REPO, 'afk/issue-1')
    store.setCI(REPO, old?.oid ?? '', 'red')
    const pull = store.openPullRequest(REPO, {
      head: 'afk/issue-1',
      author: 'afk-agent',
      closes: [issue.number]
    })
    const head = store.commit(REPO, 'afk/issue-1', 'second try', 'afk-agent')
    store.setCI(REPO, head.oid, 'green')
    store.removeLabel(issue, LABELS.human, 'maintainer')
    store.addLabel(store.repo(REPO), issue, 'bug', 'maintainer')
    sandbox = await startGitHub(store)
    const world = await adapterFor(sandbox, [REPO]).readWorld()
    expect(world.viewer).toBe('afk-loop[bot]')
    const [repo] = world.repos
    expect(repo?.error).toBeNull()
    expect(repo?.defaultBranch).toBe('main')
    const tracked = repo?.tracked[0]
    expect(tracked).toMatchObject({
      number: 1,
      title: 'Fix the parser',
      state: 'OPEN',
      labels: [LABELS.inProgress, TRACKED_LABEL, 'bug'],
      closedBy: null,
      forgedComments: []
    })
    expect(tracked?.statusComment).toMatchObject({ editedByOther: false, editor: null })
    expect(tracked?.labelEvents.at(-1)).toMatchObject({
      label: 'bug',
      action: 'added',
      actor: 'maintainer',
      byViewer: false
    })
    expect(tracked?.pullRequests).toEqual([
      expect.objectContaining({
        number: pull.number,
        headRefName: 'afk/issue-1',
        headSha: head.oid,
        byViewer: false,
        state: 'OPEN',
        ci: { status: 'green', url: expect.any(String) }
      })
    ])
    // Only the latest commit counts: the superseded red commit is ignored.
    expect(selectPushed(tracked!, record)).toMatchObject({ sha: head.oid, ci: { status: 'green' } })
    expect(repo?.candidates).toEqual([])
    expect(world.rateLimit?.remaining).toBeGreaterThan(0)
  })

  it.each(['green', 'red', 'pending', 'missing', 'blocked'] as const)(
    'reports %s CI for the head commit',
    async (ci) => {
      const store = seedStore([REPO])
      const { issue } = seedRun(store, REPO)
      const head = store.commit(REPO, 'afk/issue-1', 'work', 'afk-agent')
      store.setCI(REPO, head.oid, ci)
      store.openPullRequest(REPO, {
        head: 'afk/issue-1',
        author: 'afk-agent',
        closes: [issue.number]
      })
      sandbox = await startGitHub(store)
      const world = await adapterFor(sandbox, [REPO]).readWorld()
      expect(world.repos[0]?.tracked[0]?.pullRequests[0]?.ci.status).toBe(ci)
    }
  )

  it('leaves out ignored checks', async () => {
    const store = seedStore([REPO])
    const { issue } = seedRun(store, REPO)
    const head = store.commit(REPO, 'afk/issue-1', 'work', 'afk-agent')
    store.setCI(REPO, head.oid, 'red', 'flaky-e2e')
    store.openPullRequest(REPO, {
      head: 'afk/issue-1',
      author: 'afk-agent',
      closes: [issue.number]
    })
    sandbox = await startGitHub(store)
    const world = await adapterFor(sandbox, [REPO], { ignoreChecks: ['Flaky-E2E'] }).readWorld()
    expect(world.repos[0]?.tracked[0]?.pullRequests[0]?.ci.status).toBe('missing')
  })

  it('maps trunk delivery: default-branch commits that reference #N (not #NN), newest first, with CI', async () => {
    const store = seedStore([REPO])
    seedRun(store, REPO, 'Trunk run', 'trunk')
    const a = store.commit(REPO, 'main', 'Start (#1)', 'afk-agent')
    store.setCI(REPO, a.oid, 'red')
    store.commit(REPO, 'main', 'Unrelated (#12)', 'someone')
    const b = store.commit(REPO, 'main', 'Finish #1', 'afk-agent')
    store.setCI(REPO, b.oid, 'green')
    sandbox = await startGitHub(store)
    const world = await adapterFor(sandbox, [REPO], { delivery: 'trunk' }).readWorld()
    const commits = world.repos[0]?.tracked[0]?.trunkCommits ?? []
    expect(commits.map((c) => [c.sha, c.ci.status])).toEqual(
      expect.arrayContaining([
        [a.oid, 'red'],
        [b.oid, 'green']
      ])
    )
    expect(commits).toHaveLength(2)
    expect(commits.map((c) => c.message)).not.toContain('Unrelated (#12)')
  })

  it('reads trunk history for a run claimed under trunk delivery after the input moved to pull-request (finding 14.7)', async () => {
    const store = seedStore([REPO])
    seedRun(store, REPO, 'Trunk run', 'trunk')
    const commit = store.commit(REPO, 'main', 'Finish #1', 'afk-agent')
    store.setCI(REPO, commit.oid, 'green')
    sandbox = await startGitHub(store)
    const world = await adapterFor(sandbox, [REPO], { delivery: 'pull-request' }).readWorld()
    expect(world.repos[0]?.tracked[0]?.trunkCommits.map((c) => [c.sha, c.ci.status])).toEqual([
      [commit.oid, 'green']
    ])
    // A pull-request run alone reads no trunk history: it costs nothing extra.
    const other = seedStore([REPO])
    seedRun(other, REPO, 'PR run', 'pull-request')
    other.commit(REPO, 'main', 'Finish #1', 'afk-agent')
    await sandbox.close()
    sandbox = await startGitHub(other)
    const plain = await adapterFor(sandbox, [REPO], { delivery: 'pull-request' }).readWorld()
    expect(plain.repos[0]?.tracked[0]?.trunkCommits).toEqual([])
    // The census and the details only.
    expect(sandbox.counts['graphql-read']).toBe(2)
  })

  it("reads every closing pull request when outsiders open more than a page: the run's own stays in view (finding 15.2)", async () => {
    const store = seedStore([REPO])
    const { issue } = seedRun(store, REPO)
    outsiderForkPulls(store, issue.number, 30, () => 'afk/issue-1')
    store.commit(REPO, 'afk/issue-1', 'the run', 'afk-agent')
    const own = store.openPullRequest(REPO, {
      head: 'afk/issue-1',
      author: 'afk-agent',
      closes: [issue.number]
    })
    sandbox = await startGitHub(store)
    sandbox.resetCounts()
    const pulls = (await adapterFor(sandbox, [REPO]).readWorld()).repos[0]?.tracked[0]?.pullRequests
    expect(pulls).toHaveLength(31)
    expect(pulls?.filter((p) => !p.isCrossRepository).map((p) => p.number)).toEqual([own.number])
    // The world read, then two further pages of 25 for this issue only.
    expect(sandbox.counts['graphql-read']).toBe(3)
  })

  it("past 210 closing pull requests, finds the run's own by its branch and says the list was cut (issue 15)", async () => {
    const store = seedStore([REPO])
    const { issue } = seedRun(store, REPO)
    // Half of them even use the run's branch name, from their fork.
    const flood = (from: number, count: number) =>
      outsiderForkPulls(
        store,
        issue.number,
        count,
        (i) => (i % 2 ? `patch-${i}` : 'afk/issue-1'),
        from
      )
    flood(0, 215)
    store.commit(REPO, 'afk/issue-1', 'the run', 'afk-agent')
    const own = store.openPullRequest(REPO, {
      head: 'afk/issue-1',
      author: 'afk-agent',
      closes: [issue.number]
    })
    // Newer fork pull requests from a branch of the same name can't crowd the lookup.
    flood(215, 10)
    sandbox = await startGitHub(store)
    sandbox.resetCounts()
    const tracked = (await adapterFor(sandbox, [REPO]).readWorld()).repos[0]?.tracked[0]
    expect(tracked?.pullRequestsComplete).toBe(false)
    expect(tracked?.pullRequests.filter((p) => !p.isCrossRepository).map((p) => p.number)).toEqual([
      own.number
    ])
    expect(tracked?.pullRequests).toHaveLength(211)
    // The world read (census, details), eight pages, one lookup by branch.
    expect(sandbox.counts['graphql-read']).toBe(2 + 8 + 1)
    expect(sandbox.violations).toEqual([])
  })

  it('with at most 210 closing pull requests, reads them all and looks nothing up', async () => {
    const store = seedStore([REPO])
    const { issue } = seedRun(store, REPO)
    outsiderForkPulls(store, issue.number, 209, (i) => `patch-${i}`)
    store.commit(REPO, 'afk/issue-1', 'the run', 'afk-agent')
    store.openPullRequest(REPO, {
      head: 'afk/issue-1',
      author: 'afk-agent',
      closes: [issue.number]
    })
    sandbox = await startGitHub(store)
    sandbox.resetCounts()
    const tracked = (await adapterFor(sandbox, [REPO]).readWorld()).repos[0]?.tracked[0]
    expect(tracked?.pullRequestsComplete).toBeUndefined()
    expect(tracked?.pullRequests).toHaveLength(210)
    expect(sandbox.counts['graphql-read']).toBe(2 + 8)
  })

  it("past 210, reads the pull request that closed the issue by number: a merged run's own is a delivery", async () => {
    const store = seedStore([REPO])
    const { issue } = seedRun(store, REPO)
    outsiderForkPulls(store, issue.number, 220, (i) => `patch-${i}`)
    store.commit(REPO, 'feature', 'the run, on a branch the loop opened', 'afk-loop[bot]')
    const own = store.openPullRequest(REPO, {
      head: 'feature',
      author: 'afk-loop[bot]',
      closes: [issue.number]
    })
    store.mergePullRequest(REPO, own.number, 'maintainer')
    sandbox = await startGitHub(store)
    const tracked = (await adapterFor(sandbox, [REPO]).readWorld()).repos[0]?.tracked[0]
    expect(tracked?.closedBy?.closer).toMatchObject({ kind: 'pull-request', number: own.number })
    expect(tracked?.pullRequests.find((p) => p.number === own.number)).toMatchObject({
      state: 'MERGED',
      isCrossRepository: false,
      byViewer: true
    })
  })

  it('reads fork pull requests as facts: cross-repository, head repository, author association', async () => {
    const store = seedStore([REPO])
    const { issue } = seedRun(store, REPO)
    // A fork can use the run's own branch name and any "Closes #N".
    store.openPullRequest(REPO, {
      head: 'afk/issue-1',
      author: 'drive-by',
      closes: [issue.number],
      headRepository: 'drive-by/widgets'
    })
    const forkHead = store.commit(
      'drive-by/widgets',
      'afk/issue-1',
      'looks like the run',
      'drive-by'
    )
    store.setCI(REPO, forkHead.oid, 'green')
    store.commit(REPO, 'afk/issue-1', 'the run', 'afk-agent')
    const own = store.openPullRequest(REPO, {
      head: 'afk/issue-1',
      author: 'afk-agent',
      closes: [issue.number]
    })
    const gone = store.openPullRequest(REPO, {
      head: 'patch-1',
      author: 'member',
      authorAssociation: 'MEMBER',
      closes: [issue.number],
      headRepository: 'member/widgets'
    })
    store.commit('member/widgets', 'patch-1', 'patch', 'member')
    store.deleteRepo('member/widgets')
    sandbox = await startGitHub(store)
    const pulls = (await adapterFor(sandbox, [REPO]).readWorld()).repos[0]?.tracked[0]?.pullRequests
    const byNumber = new Map(pulls?.map((p) => [p.number, p]))
    expect(byNumber.get(issue.number + 1)).toMatchObject({
      isCrossRepository: true,
      headRepository: 'drive-by/widgets',
      headRefName: 'afk/issue-1',
      headSha: forkHead.oid,
      authorAssociation: 'NONE',
      mergedAt: null,
      ci: { status: 'green' }
    })
    expect(byNumber.get(own.number)).toMatchObject({
      isCrossRepository: false,
      headRepository: REPO,
      authorAssociation: 'COLLABORATOR'
    })
    expect(byNumber.get(gone.number)).toMatchObject({
      isCrossRepository: true,
      headRepository: null,
      authorAssociation: 'MEMBER'
    })
  })

  it('reads what closed an issue: the merged pull request, a "Fixes #N" trunk commit, or a hand', async () => {
    const store = seedStore([REPO])
    const { issue: merged } = seedRun(store, REPO, 'merged')
    store.commit(REPO, 'afk/issue-1', 'work', 'afk-agent')
    const pull = store.openPullRequest(REPO, {
      head: 'afk/issue-1',
      author: 'afk-agent',
      closes: [merged.number]
    })
    store.mergePullRequest(REPO, pull.number, 'maintainer')
    const { issue: fixed } = seedRun(store, REPO, 'fixed on trunk')
    const commit = store.commit(REPO, 'main', `Parser fix\n\nFixes #${fixed.number}`, 'afk-agent')
    const { issue: byHand } = seedRun(store, REPO, 'closed by hand')
    store.closeIssue(byHand, 'maintainer')
    sandbox = await startGitHub(store)
    const tracked = (await adapterFor(sandbox, [REPO]).readWorld()).repos[0]?.tracked ?? []
    const of = (n: number) => tracked.find((t) => t.number === n)
    expect(of(merged.number)?.closedBy).toEqual({
      login: 'maintainer',
      byViewer: false,
      at: expect.any(String),
      closer: {
        kind: 'pull-request',
        number: pull.number,
        url: expect.stringContaining(`/pull/${pull.number}`)
      }
    })
    expect(of(merged.number)?.pullRequests[0]).toMatchObject({
      state: 'MERGED',
      mergedAt: expect.any(String)
    })
    expect(of(fixed.number)?.closedBy).toMatchObject({
      login: 'afk-agent',
      closer: { kind: 'commit', sha: commit.oid, url: expect.stringContaining(commit.oid) }
    })
    expect(of(byHand.number)?.closedBy).toMatchObject({ login: 'maintainer', closer: null })
  })

  it('gives candidates the open and merged pull requests that close them', async () => {
    const store = seedStore([REPO])
    const issue = store.addIssue(REPO, { title: 'ready', labels: [LABELS.ready] })
    const open = store.openPullRequest(REPO, {
      head: 'fix',
      author: 'stranger',
      closes: [issue.number],
      headRepository: 'stranger/widgets'
    })
    const closed = store.openPullRequest(REPO, { head: 'old', author: 'x', closes: [issue.number] })
    closed.state = 'CLOSED'
    sandbox = await startGitHub(store)
    const candidate = (await adapterFor(sandbox, [REPO]).readWorld()).repos[0]?.candidates[0]
    expect(candidate?.pullRequests.map((p) => [p.number, p.isCrossRepository])).toEqual([
      [open.number, true]
    ])
  })

  it('reports forged look-alikes and a status comment edited by someone else', async () => {
    const store = seedStore([REPO])
    const { issue, comment } = seedRun(store, REPO)
    store.addComment(
      issue,
      'mallory',
      `### afk-loop: landed\n\n${encode(seedRun(store, REPO).record)}`
    )
    store.editComment(issue, comment, 'maintainer', comment.body + '\nedited')
    sandbox = await startGitHub(store)
    const tracked = (await adapterFor(sandbox, [REPO]).readWorld()).repos[0]?.tracked[0]
    expect(tracked?.forgedComments).toEqual([expect.objectContaining({ author: 'mallory' })])
    expect(tracked?.statusComment).toMatchObject({ editedByOther: true, editor: 'maintainer' })
  })

  it("treats the loop's own edits (as github-actions, not github-actions[bot]) as its own", async () => {
    const store = seedStore([REPO])
    const { issue, comment } = seedRun(store, REPO)
    store.editComment(issue, comment, LOOP, comment.body)
    sandbox = await startGitHub(store)
    expect(
      (await adapterFor(sandbox, [REPO]).readWorld()).repos[0]?.tracked[0]?.statusComment
        ?.editedByOther
    ).toBe(false)
  })

  it('lists trusted and untrusted candidates, oldest first, and a PR by someone else', async () => {
    const store = seedStore([REPO])
    store.addIssue(REPO, { title: 'one', labels: [LABELS.ready] })
    const two = store.addIssue(REPO, {
      title: 'two',
      labels: [LABELS.ready],
      author: 'drive-by',
      authorAssociation: 'NONE'
    })
    store.commit(REPO, 'fix-two', 'fix', 'contributor')
    const foreign = store.openPullRequest(REPO, {
      head: 'fix-two',
      author: 'contributor',
      closes: [two.number]
    })
    store.addIssue(REPO, { title: 'closed', labels: [LABELS.ready], state: 'CLOSED' })
    sandbox = await startGitHub(store)
    const candidates = (await adapterFor(sandbox, [REPO]).readWorld()).repos[0]?.candidates ?? []
    expect(
      candidates.map((c) => [c.number, c.authorAssociation, c.pullRequests.map((p) => p.number)])
    ).toEqual([
      [1, 'OWNER', []],
      [2, 'NONE', [foreign.number]]
    ])
  })

  it('keeps tracking a run whose in-progress label a human removed', async () => {
    const store = seedStore([REPO])
    const { issue } = seedRun(store, REPO)
    store.removeLabel(issue, LABELS.inProgress, 'maintainer')
    sandbox = await startGitHub(store)
    const tracked = (await adapterFor(sandbox, [REPO]).readWorld()).repos[0]?.tracked
    expect(tracked?.map((t) => t.number)).toEqual([1])
    expect(tracked?.[0]?.labelEvents.at(-1)).toMatchObject({
      action: 'removed',
      actor: 'maintainer'
    })
  })

  it('reads a long comment thread only as far as the status comment, and no further when it is on page one', async () => {
    const store = seedStore([REPO])
    const early = seedRun(store, REPO).issue
    for (let i = 0; i < 120; i++) store.addComment(early, 'chatty', `comment ${i}`)
    const late = store.addIssue(REPO, { title: 'late', labels: [LABELS.inProgress] })
    for (let i = 0; i < 120; i++) store.addComment(late, 'chatty', `comment ${i}`)
    store.addComment(late, LOOP, `status\n\n${encode(seedRun(store, REPO).record)}`)
    sandbox = await startGitHub(store)
    const world = await adapterFor(sandbox, [REPO]).readWorld()
    expect(world.repos[0]?.tracked.map((t) => [t.number, t.statusComment !== null])).toEqual([
      [1, true],
      [2, true],
      [3, true]
    ])
    // The census, the details, plus one more page of comments for the late
    // issue only (its status comment is the 121st: past the first page of 100).
    expect(sandbox.counts['graphql-read']).toBe(3)
  })

  it.each([1, 100, 101, 250])(
    'reads %i waiting runs with ceil(N/100) + 1 requests of 1 point each, and writes nothing',
    async (n) => {
      const store = seedStore([REPO])
      for (let i = 0; i < n; i++) seedRun(store, REPO, `run ${i}`)
      sandbox = await startGitHub(store)
      const world = await adapterFor(sandbox, [REPO]).readWorld()
      expect(world.repos[0]?.tracked).toHaveLength(n)
      // The census, then each page of details riding with the next census page.
      expect(sandbox.counts['graphql-read']).toBe(Math.ceil(n / 100) + 1)
      expect(sandbox.counts.points).toBe(Math.ceil(n / 100) + 1)
      expect(world.points).toMatchObject({ spent: Math.ceil(n / 100) + 1, limit: 1000 })
      expect(
        sandbox.counts['graphql-write'] + sandbox.counts['rest-write'] + sandbox.counts['rest-read']
      ).toBe(0)
    }
  )

  it('reports a repository it cannot read and goes on with the others; throws only when none can be read', async () => {
    const store = seedStore([REPO])
    seedRun(store, REPO)
    sandbox = await startGitHub(store)
    const world = await adapterFor(sandbox, [REPO, 'acme/missing']).readWorld()
    expect(world.repos.map((r) => [r.repo.fullName, r.error === null])).toEqual([
      [REPO, true],
      ['acme/missing', false]
    ])
    await expect(adapterFor(sandbox, ['acme/missing']).readWorld()).rejects.toThrow(
      'no allowlisted repository could be read'
    )
  })

  it('turns a spent primary rate limit into RateLimitedError-based repo errors', async () => {
    const store = seedStore([REPO, 'acme/gadgets'])
    sandbox = await startGitHub(store, {
      faults: [{ kind: 'graphql-read', status: 'primary-limit' }]
    })
    await expect(adapterFor(sandbox, [REPO, 'acme/gadgets']).readWorld()).rejects.toThrow(
      /rate limit is spent/
    )
  })
})

describe('apply', () => {
  async function adapterWithRun() {
    const store = seedStore([REPO])
    const run = seedRun(store, REPO)
    sandbox = await startGitHub(store)
    const adapter = adapterFor(sandbox, [REPO])
    await adapter.readWorld()
    sandbox.resetCounts()
    return { store, adapter, ...run }
  }

  it('keeps the tracking label while the record owes something and drops it in the write that ends that, in the same request', async () => {
    const { store, adapter, issue, comment, record } = await adapterWithRun()
    const ended = endRecord(
      record,
      { action: 'CLOSE_SUCCESS', reason: 'ci-green', ci: 'green', detail: null, interrupt: null },
      new Date()
    )
    const owed = {
      ...ended,
      outbox: [
        {
          key: 'k',
          kind: 'done' as const,
          reason: 'ci-green' as const,
          createdAt: new Date().toISOString(),
          tries: 0,
          nextTryAt: new Date().toISOString(),
          pending: ['webhook'],
          delivered: [],
          abandonedAt: null,
          lastError: null
        }
      ]
    }
    await adapter.apply({
      repo: ref(REPO),
      issue: issue.number,
      issueId: issue.id,
      comment: { id: comment.id, body: encode(owed) },
      removeLabels: [LABELS.inProgress]
    })
    expect(issue.labels).toEqual([TRACKED_LABEL])
    await adapter.apply({
      repo: ref(REPO),
      issue: issue.number,
      issueId: issue.id,
      comment: { id: comment.id, body: encode(ended) }
    })
    expect(issue.labels).toEqual([])
    expect(sandbox?.counts['graphql-write']).toBe(2)
    // A claim adds it with the in-progress label.
    const next = store.addIssue(REPO, { title: 'next', labels: [LABELS.ready] })
    await adapter.apply({
      repo: ref(REPO),
      issue: next.number,
      issueId: next.id,
      comment: { id: null, body: encode(record) },
      addLabels: [LABELS.inProgress],
      removeLabels: [LABELS.ready]
    })
    expect(next.labels).toEqual([LABELS.inProgress, TRACKED_LABEL])
    expect(sandbox?.counts['graphql-write']).toBe(3)
  })

  it('writes comment, labels and close in one request, in order', async () => {
    const { adapter, issue, comment } = await adapterWithRun()
    const result = await adapter.apply({
      repo: ref(REPO),
      issue: issue.number,
      issueId: issue.id,
      comment: { id: comment.id, body: 'done' },
      addLabels: [LABELS.human],
      removeLabels: [LABELS.inProgress, 'never-existed'],
      close: true
    })
    expect(result.commentId).toBe(comment.id)
    // 'done' is no record: the tracking label is left as it was.
    expect(issue).toMatchObject({ labels: [TRACKED_LABEL, LABELS.human], state: 'CLOSED' })
    expect(comment.body).toBe('done')
    expect(sandbox?.counts).toMatchObject({
      'graphql-write': 1,
      'graphql-read': 0,
      'rest-write': 0
    })
  })

  it('creates a new comment and returns its id; sends nothing when there is nothing to change', async () => {
    const { adapter, issue } = await adapterWithRun()
    const created = await adapter.apply({
      repo: ref(REPO),
      issue: issue.number,
      issueId: issue.id,
      comment: { id: null, body: 'new' }
    })
    expect(issue.comments.at(-1)).toMatchObject({
      id: created.commentId,
      body: 'new',
      author: LOOP
    })
    await adapter.apply({
      repo: ref(REPO),
      issue: issue.number,
      issueId: issue.id,
      removeLabels: ['never-existed']
    })
    expect(sandbox?.counts['graphql-write']).toBe(1)
  })

  it('creates a missing label once, by REST', async () => {
    const { adapter, issue, store } = await adapterWithRun()
    await adapter.apply({
      repo: ref(REPO),
      issue: issue.number,
      issueId: issue.id,
      addLabels: ['brand-new']
    })
    await adapter.apply({
      repo: ref(REPO),
      issue: issue.number,
      issueId: issue.id,
      removeLabels: ['brand-new']
    })
    expect(store.repo(REPO).labels.map((l) => l.name)).toContain('brand-new')
    expect(sandbox?.counts).toMatchObject({ 'rest-write': 1, 'graphql-write': 2 })
    expect(sandbox?.violations).toEqual([])
  })

  it('refuses to overwrite a status comment that changed since it was read', async () => {
    const { adapter, issue, comment, store } = await adapterWithRun()
    const before = comment.body
    store.editComment(issue, comment, 'maintainer', 'hands off')
    await expect(
      adapter.apply({
        repo: ref(REPO),
        issue: issue.number,
        issueId: issue.id,
        comment: { id: comment.id, body: 'x', expectBody: before }
      })
    ).rejects.toBeInstanceOf(ConflictError)
    expect(comment.body).toBe('hands off')
    expect(sandbox?.counts['graphql-write']).toBe(0)
  })

  it('reports a partial failure with what applied and what did not', async () => {
    const { adapter, issue, comment, store } = await adapterWithRun()
    // The label vanished after the read: its id no longer resolves.
    const repo = store.repo(REPO)
    repo.labels = repo.labels.filter((l) => l.name !== LABELS.human)
    const error = await adapter
      .apply({
        repo: ref(REPO),
        issue: issue.number,
        issueId: issue.id,
        comment: { id: comment.id, body: 'new body' },
        addLabels: [LABELS.human]
      })
      .then(
        () => null,
        (e: unknown) => e
      )
    expect(error).toBeInstanceOf(PartialWriteError)
    expect((error as PartialWriteError).applied).toEqual(['comment'])
    expect((error as PartialWriteError).failed).toEqual(['addLabels'])
    expect(comment.body).toBe('new body')
  })

  it('throws RateLimitedError when the primary limit is spent', async () => {
    const store = seedStore([REPO])
    const { issue, comment } = seedRun(store, REPO)
    sandbox = await startGitHub(store, {
      faults: [{ kind: 'graphql-write', status: 'primary-limit' }]
    })
    const adapter = adapterFor(sandbox, [REPO])
    await adapter.readWorld()
    await expect(
      adapter.apply({
        repo: ref(REPO),
        issue: issue.number,
        issueId: issue.id,
        comment: { id: comment.id, body: 'x' }
      })
    ).rejects.toBeInstanceOf(RateLimitedError)
  })

  it("finds a notice among the loop's own recent comments only (someone else's copy doesn't count)", async () => {
    const { store, adapter, issue } = await adapterWithRun()
    const query = {
      repo: ref(REPO),
      issue: issue.number,
      issueId: issue.id,
      marker: '<!-- afk-loop:notice k1 -->'
    }
    expect(await adapter.findNotice(query)).toBe(false)
    store.addComment(issue, 'mallory', `@acme/team hi\n\n${query.marker}`)
    expect(await adapter.findNotice(query)).toBe(false)
    await adapter.apply({
      repo: ref(REPO),
      issue: issue.number,
      issueId: issue.id,
      comment: { id: null, body: `@acme/team done\n\n${query.marker}` }
    })
    expect(await adapter.findNotice(query)).toBe(true)
    expect(await adapter.findNotice({ ...query, marker: '<!-- afk-loop:notice k2 -->' })).toBe(
      false
    )
  })

  it('refuses a repository outside the allowlist before any request', async () => {
    const { adapter, issue } = await adapterWithRun()
    await expect(
      adapter.apply({
        repo: ref('evil/elsewhere'),
        issue: issue.number,
        issueId: issue.id,
        close: true
      })
    ).rejects.toThrow('not in the repos allowlist')
    expect(sandbox?.log).toEqual([])
  })
})

describe('complete CI', () => {
  async function ciOf(
    seed: (store: ReturnType<typeof seedStore>, oid: string) => void,
    ignoreChecks: string[] = []
  ) {
    const store = seedStore([REPO])
    const { issue } = seedRun(store, REPO)
    const head = store.commit(REPO, 'afk/issue-1', 'work', 'afk-agent')
    store.openPullRequest(REPO, {
      head: 'afk/issue-1',
      author: 'afk-agent',
      closes: [issue.number]
    })
    seed(store, head.oid)
    sandbox = await startGitHub(store)
    const world = await adapterFor(sandbox, [REPO], { ignoreChecks }).readWorld()
    return world.repos[0]?.tracked[0]?.pullRequests[0]?.ci.status
  }
  const matrix = (store: ReturnType<typeof seedStore>, oid: string, n: number, failAt: number) => {
    for (let i = 1; i <= n; i++)
      store.addCheckRun(REPO, oid, {
        name: `test (${i})`,
        status: 'COMPLETED',
        conclusion: i === failAt ? 'FAILURE' : 'SUCCESS'
      })
  }

  it('a 60-check commit with a failure in position 55 is red', async () => {
    expect(await ciOf((store, oid) => matrix(store, oid, 60, 55))).toBe('red')
  })

  it('reads a rollup longer than a page to the end: a failure at 240 of 250 is red, and without it green', async () => {
    expect(await ciOf((store, oid) => matrix(store, oid, 250, 240))).toBe('red')
    const pages = sandbox?.log.filter((l) => l.startsWith('graphql-read')).length
    // The census, the details, then the rest of the rollup (two more pages of 100).
    expect(pages).toBe(4)
    await sandbox?.close()
    expect(await ciOf((store, oid) => matrix(store, oid, 250, 0))).toBe('green')
  })

  it('judges the newest run of a check: failed then passed is green, passed then failed is red', async () => {
    const rerun = (first: 'FAILURE' | 'SUCCESS', second: 'FAILURE' | 'SUCCESS') =>
      ciOf((store, oid) => {
        store.addCheckRun(REPO, oid, { name: 'build', status: 'COMPLETED', conclusion: 'SUCCESS' })
        store.addCheckRun(REPO, oid, { name: 'test', status: 'COMPLETED', conclusion: first })
        store.addCheckRun(REPO, oid, { name: 'test', status: 'COMPLETED', conclusion: second })
      })
    expect(await rerun('FAILURE', 'SUCCESS')).toBe('green')
    await sandbox?.close()
    expect(await rerun('SUCCESS', 'FAILURE')).toBe('red')
  })

  it('keeps ignore-checks, and a same-named check of another app counts on its own', async () => {
    expect(
      await ciOf(
        (store, oid) => {
          store.addCheckRun(REPO, oid, { name: 'test', status: 'COMPLETED', conclusion: 'SUCCESS' })
          store.addCheckRun(REPO, oid, {
            name: 'flaky',
            status: 'COMPLETED',
            conclusion: 'FAILURE'
          })
        },
        ['flaky']
      )
    ).toBe('green')
    await sandbox?.close()
    expect(
      await ciOf((store, oid) => {
        store.addCheckRun(REPO, oid, {
          name: 'test',
          status: 'COMPLETED',
          conclusion: 'FAILURE',
          app: 1
        })
        store.addCheckRun(REPO, oid, {
          name: 'test',
          status: 'COMPLETED',
          conclusion: 'SUCCESS',
          app: 2
        })
      })
    ).toBe('red')
  })
})

describe('issueWhereabouts (the sweep of orphaned agents)', () => {
  const OTHER = 'acme/private'
  const setup = async (visible: string[] | null) => {
    const store = seedStore([REPO, OTHER])
    if (visible) store.visible.set(LOOP, new Set(visible))
    const here = store.addIssue(REPO, { title: 'stays' })
    const moved = store.addIssue(REPO, { title: 'moves' })
    const deleted = store.addIssue(REPO, { title: 'deleted' })
    store.addIssue(OTHER, { title: 'takes number 1 there' })
    store.transferIssue(REPO, moved.number, OTHER)
    store.deleteIssue(REPO, deleted.number)
    sandbox = await startGitHub(store)
    return { adapter: adapterFor(sandbox, [REPO]), here, moved, deleted }
  }

  it('an issue still here; one transferred where the token can read (301, followed); one deleted (410)', async () => {
    const { adapter, here, moved, deleted } = await setup(null)
    expect(await adapter.issueWhereabouts(ref(REPO), here.number)).toEqual({
      status: 200,
      repo: REPO,
      number: here.number
    })
    expect(await adapter.issueWhereabouts(ref(REPO), 2)).toEqual({
      status: 200,
      repo: OTHER,
      number: moved.number
    })
    expect(moved.number).toBe(2)
    expect(await adapter.issueWhereabouts(ref(REPO), deleted.number)).toEqual({ status: 410 })
    // One request each, and one more to follow the redirect; nothing GitHub doesn't have.
    expect(sandbox?.counts['rest-read']).toBe(4)
    expect(sandbox?.counts.points).toBe(0)
    expect(sandbox?.violations).toEqual([])
  })

  it("transferred where the token can't read: 404, as GitHub answers it", async () => {
    const { adapter } = await setup([REPO])
    expect(await adapter.issueWhereabouts(ref(REPO), 2)).toEqual({ status: 404 })
    expect(sandbox?.log.filter((l) => l.includes('/repositories/'))).toEqual([])
  })

  it('refuses a repository outside the allowlist, and throws on any other failure', async () => {
    const { adapter } = await setup(null)
    await expect(adapter.issueWhereabouts(ref(OTHER), 1)).rejects.toThrow('allowlist')
    if (sandbox) sandbox.options.faults = [{ status: 502, path: /\/issues\/1$/ }]
    await expect(adapter.issueWhereabouts(ref(REPO), 1)).rejects.toThrow()
  })
})

describe('pullRequestsOnBranch', () => {
  it("reads a branch's own pull requests in the repository (1 point): a fork's on a branch of the same name never", async () => {
    const store = seedStore([REPO])
    const { issue } = seedRun(store, REPO)
    const branch = 'copilot/fix-1'
    store.commit(REPO, branch, 'the Copilot task', 'Copilot')
    const own = store.openPullRequest(REPO, {
      head: branch,
      author: 'Copilot',
      closes: [issue.number]
    })
    // Newer pull requests from forks, on a branch of the very same name.
    outsiderForkPulls(store, issue.number, 8, () => branch)
    // Another branch of the repository itself.
    store.commit(REPO, 'copilot/fix-2', 'other', 'Copilot')
    store.openPullRequest(REPO, {
      head: 'copilot/fix-2',
      author: 'Copilot',
      closes: [issue.number]
    })
    sandbox = await startGitHub(store)
    const adapter = adapterFor(sandbox, [REPO])
    await adapter.readWorld()
    sandbox.resetCounts()
    const before = adapter.points?.()?.spent ?? 0
    const found = await adapter.pullRequestsOnBranch(ref(REPO), branch)
    expect(
      found.map((p) => [p.number, p.headRefName, p.isCrossRepository, p.headRepository])
    ).toEqual([[own.number, branch, false, REPO]])
    expect(found[0]).toMatchObject({ state: 'OPEN', author: 'Copilot', byViewer: false })
    expect(sandbox.counts['graphql-read']).toBe(1)
    expect((adapter.points?.()?.spent ?? 0) - before).toBe(1)
    // A branch the repository doesn't have: none, no error.
    expect(await adapter.pullRequestsOnBranch(ref(REPO), 'copilot/gone')).toEqual([])
    expect(sandbox.violations).toEqual([])
  })

  it('refuses a repository outside the allowlist before any request', async () => {
    const store = seedStore([REPO])
    sandbox = await startGitHub(store)
    const adapter = adapterFor(sandbox, [REPO])
    sandbox.resetCounts()
    await expect(adapter.pullRequestsOnBranch(ref('evil/repo'), 'main')).rejects.toThrow(
      /refusing to read evil\/repo: it is not in the repos allowlist/
    )
    expect(sandbox.counts['graphql-read'] ?? 0).toBe(0)
  })
})
