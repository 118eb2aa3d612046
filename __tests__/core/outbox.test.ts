import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import {
  FIRST_RETRY_SECONDS,
  GIVE_UP_AFTER_SECONDS,
  MAX_RETRY_SECONDS,
  backoffSeconds,
  dueChannels,
  isSettled,
  openOutboxEntry,
  recordDelivery
} from '../../src/core/outbox.js'

const T0 = '2026-11-24T00:00:00.000Z'
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000)
const open = (channels = ['slack', 'webhook']) =>
  openOutboxEntry({ key: 'k-done', kind: 'done', reason: 'ci-green', channels, now: T0 })

describe('outbox', () => {
  it('opens with every channel pending (once each) and due at once', () => {
    const entry = open(['slack', 'webhook', 'slack'])
    expect(entry.pending).toEqual(['slack', 'webhook'])
    expect(entry.nextTryAt).toBe(T0)
    expect(dueChannels(entry, T0)).toEqual(['slack', 'webhook'])
    expect(isSettled(entry)).toBe(false)
    expect(isSettled(open([]))).toBe(true)
  })

  it('never re-sends a delivered channel when another failed', () => {
    const after = recordDelivery(
      open(),
      [
        { channel: 'slack', ok: true },
        { channel: 'webhook', ok: false, error: 'HTTP 500' }
      ],
      T0
    )
    expect(after.delivered).toEqual(['slack'])
    expect(after.pending).toEqual(['webhook'])
    expect(after.lastError).toBe('webhook: HTTP 500')
    expect(dueChannels(after, at(FIRST_RETRY_SECONDS - 1))).toEqual([])
    expect(dueChannels(after, at(FIRST_RETRY_SECONDS))).toEqual(['webhook'])
  })

  it('backs off from a minute, doubling, capped at an hour', () => {
    expect([0, 1, 2, 3, 4, 6, 7, 100].map(backoffSeconds)).toEqual([
      60, 60, 120, 240, 480, 1920, 3600, 3600
    ])
    fc.assert(
      fc.property(fc.nat(10_000), (tries) => {
        const wait = backoffSeconds(tries)
        expect(wait).toBeGreaterThanOrEqual(FIRST_RETRY_SECONDS)
        expect(wait).toBeLessThanOrEqual(MAX_RETRY_SECONDS)
        expect(backoffSeconds(tries + 1)).toBeGreaterThanOrEqual(wait)
      })
    )
  })

  it('gives up after 24 hours, once, and is then settled', () => {
    let entry = open(['webhook'])
    let now = 0
    while (!isSettled(entry)) {
      const due = dueChannels(entry, at(now))
      if (due.length)
        entry = recordDelivery(
          entry,
          due.map((channel) => ({ channel, ok: false })),
          at(now)
        )
      now += 60
    }
    expect(entry.abandonedAt).not.toBeNull()
    expect(Date.parse(entry.abandonedAt ?? '') - Date.parse(T0)).toBeGreaterThanOrEqual(
      GIVE_UP_AFTER_SECONDS * 1000
    )
    expect(Date.parse(entry.abandonedAt ?? '') - Date.parse(T0)).toBeLessThanOrEqual(
      (GIVE_UP_AFTER_SECONDS + MAX_RETRY_SECONDS) * 1000
    )
    expect(entry.tries).toBeLessThan(40)
    expect(entry.lastError).toBe('webhook: delivery failed')
    expect(dueChannels(entry, at(now + 10 * 86_400))).toEqual([])
  })

  it('clears the error once everything is delivered', () => {
    const failed = recordDelivery(
      open(['webhook']),
      [{ channel: 'webhook', ok: false, error: 'x' }],
      T0
    )
    const done = recordDelivery(failed, [{ channel: 'webhook', ok: true }], at(120))
    expect(done).toMatchObject({
      pending: [],
      delivered: ['webhook'],
      lastError: null,
      tries: 2,
      abandonedAt: null
    })
    expect(isSettled(done)).toBe(true)
  })

  it('keeps URLs (which may carry secrets) out of errors, and bounds their length', () => {
    const entry = recordDelivery(
      open(['slack']),
      [
        {
          channel: 'slack',
          ok: false,
          error: `fetch https://hooks.slack.com/services/T0/B0/SECRET failed ${'x'.repeat(900)}`
        }
      ],
      T0
    )
    expect(entry.lastError).toContain('<url>')
    expect(entry.lastError).not.toContain('SECRET')
    expect(entry.lastError?.length).toBeLessThanOrEqual(500)
  })
})
