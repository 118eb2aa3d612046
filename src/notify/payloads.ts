/**
 * What each doorbell channel says, as pure functions of a {@link Notification}:
 * the Slack message and the generic webhook's JSON body (whose schema the
 * docs/notifications.md documents and receivers can validate).
 */
import { z } from 'zod'
import { formatDuration } from '../core/checklist.js'
import { DOORBELL_KINDS, type DoorbellKind } from '../core/types.js'
import type { Notification } from '../loop/ports.js'

export const WEBHOOK_SCHEMA_ID = 'afk-loop.doorbell/v1'

/** The generic webhook's body. Every field is always present (null when unknown). */
export const webhookBodySchema = z.object({
  schema: z.literal(WEBHOOK_SCHEMA_ID),
  kind: z.enum(DOORBELL_KINDS),
  key: z.string().min(1),
  repo: z.string(),
  issue: z.number().int().positive(),
  title: z.string(),
  url: z.string(),
  reason: z.string(),
  detail: z.string(),
  attempts: z.number().int().min(0),
  maxAttempts: z.number().int().min(0),
  elapsedSeconds: z.number().min(0),
  threadId: z.string().nullable(),
  threadUrl: z.string().nullable(),
  commit: z.string().nullable(),
  commitUrl: z.string().nullable(),
  pullRequestUrl: z.string().nullable(),
  at: z.string()
})

export type WebhookBody = z.infer<typeof webhookBodySchema>

/** The webhook body for a notification. */
export function webhookBody(n: Notification): WebhookBody {
  return {
    schema: WEBHOOK_SCHEMA_ID,
    kind: n.kind,
    key: n.key,
    repo: n.repo,
    issue: n.issue,
    title: n.title,
    url: n.url,
    reason: n.reason,
    detail: n.detail,
    attempts: n.attempts,
    maxAttempts: n.maxAttempts,
    elapsedSeconds: n.elapsedSeconds,
    threadId: n.threadId,
    threadUrl: n.threadUrl,
    commit: n.commit,
    commitUrl: n.commitUrl,
    pullRequestUrl: n.pullRequestUrl,
    at: n.at
  }
}

const OUTCOME: Readonly<Record<DoorbellKind, { words: string; emoji: string }>> = {
  done: { words: 'Landed', emoji: ':white_check_mark:' },
  frozen: { words: 'Frozen, over to a human', emoji: ':snowflake:' },
  'needs-human': { words: 'Needs a human', emoji: ':raising_hand:' }
}

/** Slack's three control characters, escaped as its docs ask. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

const link = (url: string, text: string): string => `<${url}|${slackEscape(text)}>`

/** A Slack incoming-webhook message: `text` for notifications, `blocks` for the message. */
export function slackMessage(n: Notification): { text: string; blocks: unknown[] } {
  const outcome = OUTCOME[n.kind]
  const headline = `${outcome.emoji} *${outcome.words}*: ${link(n.url, `${n.repo}#${n.issue}`)} ${slackEscape(n.title)}`
  const facts = [
    `*Why:* ${slackEscape(n.detail)}`,
    `*Fix-forward attempts:* ${n.attempts}/${n.maxAttempts}   *Elapsed:* ${formatDuration(n.elapsedSeconds)}`
  ]
  const links = [
    n.pullRequestUrl ? link(n.pullRequestUrl, 'pull request') : null,
    n.commit
      ? n.commitUrl
        ? link(n.commitUrl, n.commit.slice(0, 7))
        : `\`${n.commit.slice(0, 7)}\``
      : null,
    n.threadId
      ? n.threadUrl
        ? link(n.threadUrl, 'agent')
        : `agent \`${slackEscape(n.threadId)}\``
      : null
  ].filter((l): l is string => l !== null)
  return {
    text: `${outcome.words}: ${n.repo}#${n.issue} ${n.title}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: headline } },
      { type: 'section', text: { type: 'mrkdwn', text: facts.join('\n') } },
      ...(links.length
        ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: links.join('  ·  ') }] }]
        : [])
    ]
  }
}
