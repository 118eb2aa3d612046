/**
 * The doorbell's channels against a loopback receiver: what each sends, the
 * signature (checked independently with node:crypto), the idempotency key,
 * refusals, and failures that the outbox retries with the same key.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createNotifier } from '../../src/notify/index.js'
import { slackEscape, slackMessage, webhookBodySchema } from '../../src/notify/payloads.js'
import { dueChannels, openOutboxEntry, recordDelivery } from '../../src/core/outbox.js'
import type { Notification } from '../../src/loop/ports.js'
import { deadUrl, startReceiver, type Receiver } from '../../__fixtures__/receiver.js'

const SECRET = 'whsec_test_secret_value'

function notification(overrides: Partial<Notification> = {}): Notification {
  return {
    kind: 'done',
    key: 'afk-1a2b3c-7-lx0-done',
    repo: 'acme/widgets',
    issue: 7,
    title: 'Parser drops <trailing> commas & more',
    url: 'https://github.com/acme/widgets/issues/7',
    reason: 'ci-green',
    detail: 'CI is green on the pushed commit.',
    attempts: 1,
    maxAttempts: 3,
    elapsedSeconds: 5520,
    threadId: 'afk-thread-1',
    threadUrl: null,
    commit: '9fceb02d0ae598e95dc970b74767f19372d61af8',
    commitUrl: 'https://github.com/acme/widgets/commit/9fceb02',
    pullRequestUrl: 'https://github.com/acme/widgets/pull/8',
    at: '2026-11-24T02:32:00.000Z',
    ...overrides
  }
}

let receiver: Receiver
beforeEach(async () => {
  receiver = await startReceiver()
})
afterEach(async () => {
  await receiver.close()
})

const notifierFor = (
  hooks: { slack?: string; webhook?: string; secret?: string | null },
  timeoutMs = 2000
) =>
  createNotifier(
    {
      slackWebhook: hooks.slack ?? null,
      webhookUrl: hooks.webhook ?? null,
      webhookSecret: hooks.secret ?? null,
      mention: '@acme/team'
    },
    { allowLoopbackHttp: true, timeoutMs }
  )

describe('the webhook channel', () => {
  it('posts the documented JSON body with an idempotency key and a verifiable signature', async () => {
    const notifier = notifierFor({ webhook: `${receiver.url}/hook`, secret: SECRET })
    expect(notifier.channels).toEqual(['webhook'])
    await notifier.notify('webhook', notification())
    const [got] = receiver.received
    expect(got?.path).toBe('/hook')
    const body = webhookBodySchema.parse(JSON.parse(got?.raw ?? ''))
    expect(body).toMatchObject({
      kind: 'done',
      repo: 'acme/widgets',
      issue: 7,
      reason: 'ci-green',
      attempts: 1,
      elapsedSeconds: 5520,
      key: 'afk-1a2b3c-7-lx0-done',
      commit: '9fceb02d0ae598e95dc970b74767f19372d61af8',
      threadId: 'afk-thread-1',
      at: '2026-11-24T02:32:00.000Z'
    })
    expect(got?.headers['idempotency-key']).toBe('afk-1a2b3c-7-lx0-done')
    expect(got?.headers['content-type']).toBe('application/json')
    // Verify as a receiver would: HMAC over the raw bytes, constant-time compare.
    const expected = Buffer.from(
      `sha256=${createHmac('sha256', SECRET)
        .update(got?.raw ?? '')
        .digest('hex')}`
    )
    const given = Buffer.from(String(got?.headers['x-afk-signature']))
    expect(given.length).toBe(expected.length)
    expect(timingSafeEqual(given, expected)).toBe(true)
  })

  it('sends no signature without a secret', async () => {
    await notifierFor({ webhook: receiver.url }).notify('webhook', notification())
    expect(receiver.received[0]?.headers['x-afk-signature']).toBeUndefined()
  })
})

describe('the Slack channel', () => {
  it('says the outcome, the issue, why, attempts, elapsed, and links, with Slack escaping', async () => {
    const notifier = notifierFor({ slack: `${receiver.url}/slack` })
    await notifier.notify(
      'slack',
      notification({
        kind: 'frozen',
        reason: 'fix-forward-budget-spent',
        detail: 'CI is still red.'
      })
    )
    const message = JSON.parse(receiver.received[0]?.raw ?? '') as {
      text: string
      blocks: unknown[]
    }
    const all = JSON.stringify(message)
    expect(message.text).toBe(
      'Frozen, over to a human: acme/widgets#7 Parser drops <trailing> commas & more'
    )
    expect(all).toContain('Parser drops &lt;trailing&gt; commas &amp; more')
    expect(all).toContain('<https://github.com/acme/widgets/issues/7|acme/widgets#7>')
    expect(all).toContain('CI is still red.')
    expect(all).toContain('1/3')
    expect(all).toContain('1h 32m')
    expect(all).toContain('<https://github.com/acme/widgets/pull/8|pull request>')
    expect(all).toContain('<https://github.com/acme/widgets/commit/9fceb02|9fceb02>')
    expect(all).toContain('agent `afk-thread-1`')
    expect(receiver.received[0]?.headers['idempotency-key']).toBeUndefined()
  })

  it('words each outcome and leaves out links it does not have', () => {
    expect(
      slackMessage(
        notification({ kind: 'needs-human', commit: null, pullRequestUrl: null, threadId: null })
      ).blocks
    ).toHaveLength(2)
    expect(slackMessage(notification({ kind: 'done' })).text).toMatch(/^Landed/)
    expect(slackMessage(notification({ threadUrl: 'https://t3/x' })).blocks.at(-1)).toMatchObject({
      type: 'context'
    })
    expect(slackEscape('a<b>&c')).toBe('a&lt;b&gt;&amp;c')
  })
})

describe('both channels', () => {
  it('are used together, each on its own', async () => {
    const notifier = notifierFor({
      slack: `${receiver.url}/slack`,
      webhook: `${receiver.url}/hook`
    })
    expect(notifier.channels).toEqual(['slack', 'webhook'])
    for (const channel of notifier.channels) await notifier.notify(channel, notification())
    expect(receiver.received.map((r) => r.path)).toEqual(['/slack', '/hook'])
  })
})

describe('refusals and failures', () => {
  it.each(['claimed', 'progress', 'WAIT'])(
    'refuses the non-terminal kind %p without a request',
    async (kind) => {
      const notifier = notifierFor({ webhook: receiver.url })
      await expect(
        notifier.notify('webhook', notification({ kind: kind as Notification['kind'] }))
      ).rejects.toThrow('rings only done, needs-human, frozen')
      expect(receiver.received).toEqual([])
    }
  )

  it('refuses an unknown channel and a plain-http URL outside tests', async () => {
    await expect(
      notifierFor({ webhook: receiver.url }).notify('pager', notification())
    ).rejects.toThrow("no notification channel 'pager'")
    const strict = createNotifier({
      slackWebhook: null,
      webhookUrl: `${receiver.url}/x`,
      webhookSecret: null,
      mention: null
    })
    await expect(strict.notify('webhook', notification())).rejects.toThrow('must use https://')
    expect(receiver.received).toEqual([])
  })

  const secretUrl = () => `${receiver.url}/services/T000/SECRETPATH`
  it.each([
    ['a 500', () => (receiver.respond = 500), 'HTTP 500'],
    ['a hang past the timeout', () => (receiver.respond = 'hang'), 'timed out']
  ])('throws on %s, naming the channel but not the URL', async (_name, arrange, words) => {
    arrange()
    const error = await notifierFor(
      { slack: secretUrl(), webhook: secretUrl(), secret: SECRET },
      300
    )
      .notify('slack', notification())
      .then(
        () => null,
        (e: Error) => e
      )
    expect(error?.message).toContain('slack notification')
    expect(error?.message).toContain(words)
    expect(error?.message).not.toContain('SECRETPATH')
    expect(error?.message).not.toContain(SECRET)
  })

  it.each([
    ['307 to another host over plain http', 307, (other: string) => `${other}/stolen`],
    [
      '308 to plain http on another host name',
      308,
      (other: string) => other.replace('127.0.0.1', 'localhost')
    ],
    ['302 to an https host', 302, () => 'https://attacker.example/collect'],
    ['301 back to the same receiver', 301, () => `${receiver.url}/again`]
  ])(
    'follows no redirect (%s): the body goes nowhere else and the delivery fails',
    async (_name, status, target) => {
      const other = await startReceiver()
      try {
        const redirecting = createServer((req, res) => {
          req.resume()
          req.on('end', () => res.writeHead(status, { location: target(other.url) }).end())
        })
        await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve))
        const url = `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/hook`
        const error = await notifierFor({ webhook: url, secret: SECRET })
          .notify('webhook', notification())
          .then(
            () => null,
            (e: Error) => e
          )
        redirecting.closeAllConnections()
        await new Promise<void>((resolve) => redirecting.close(() => resolve()))
        expect(error?.message).toContain(`webhook notification was redirected (HTTP ${status})`)
        expect(other.received).toEqual([])
        expect(receiver.received).toEqual([])
      } finally {
        await other.close()
      }
    }
  )

  it('throws on a refused connection without the URL', async () => {
    const url = await deadUrl()
    const error = await notifierFor({ webhook: url })
      .notify('webhook', notification())
      .then(
        () => null,
        (e: Error) => e
      )
    expect(error?.message).toMatch(/webhook notification could not be sent \(ECONNREFUSED\)/)
    expect(error?.message).not.toContain('127.0.0.1')
  })

  it('retries through the outbox with the same key after a failure', async () => {
    const notifier = notifierFor({ webhook: receiver.url, secret: SECRET })
    let entry = openOutboxEntry({
      key: 'afk-k-done',
      kind: 'done',
      reason: 'ci-green',
      channels: notifier.channels,
      now: '2026-11-24T00:00:00Z'
    })
    const deliver = async (now: string) => {
      const results = []
      for (const channel of dueChannels(entry, now)) {
        try {
          await notifier.notify(channel, notification({ key: entry.key }))
          results.push({ channel, ok: true })
        } catch (error) {
          results.push({ channel, ok: false, error: (error as Error).message })
        }
      }
      if (results.length) entry = recordDelivery(entry, results, now)
    }
    receiver.respond = 503
    await deliver('2026-11-24T00:00:00Z')
    expect(entry.pending).toEqual(['webhook'])
    expect(entry.lastError).toContain('HTTP 503')
    await deliver('2026-11-24T00:00:30Z') // backoff not over: nothing is sent
    expect(receiver.received).toHaveLength(1)
    receiver.respond = 200
    await deliver('2026-11-24T00:01:00Z')
    expect(entry.pending).toEqual([])
    expect(entry.delivered).toEqual(['webhook'])
    expect(receiver.received.map((r) => r.headers['idempotency-key'])).toEqual([
      'afk-k-done',
      'afk-k-done'
    ])
    await deliver('2026-11-24T02:00:00Z') // settled: never again
    expect(receiver.received).toHaveLength(2)
  })
})
