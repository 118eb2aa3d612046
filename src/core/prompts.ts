/**
 * What the loop says to the agent: the first turn (here is the issue, deliver
 * it like this) and the fix-forward turn (CI is red on your commit, fix it).
 *
 * Both can be replaced by the `prompt-template` and
 * `fix-forward-prompt-template` inputs, which use `{{placeholder}}` names from
 * {@link PROMPT_PLACEHOLDERS}. An unknown placeholder is a configuration error
 * caught when the inputs are read, not text sent to an agent.
 *
 * The issue body is untrusted text: hidden HTML comments are dropped, so that
 * instructions a reader of the issue can't see never reach the agent.
 */
import type { Delivery } from './types.js'

export interface IssueFacts {
  repo: string
  issue: number
  title: string
  body: string
  url: string
}

export interface FirstTurnFacts extends IssueFacts {
  delivery: Delivery
  defaultBranch: string
}

export interface FixForwardFacts extends IssueFacts {
  delivery: Delivery
  commit: string
  /** A link to the failing CI, when known. */
  ciUrl: string | null
  attempt: number
  maxAttempts: number
}

/** Placeholders each template may use, with what they stand for. */
export const PROMPT_PLACEHOLDERS = {
  first: {
    repo: 'owner/name of the repository',
    issue: 'the issue number',
    title: "the issue's title",
    body: "the issue's body, hidden HTML comments removed",
    url: "the issue's URL",
    branch: 'the branch to push (pull-request delivery): afk/issue-N',
    default_branch: "the repository's default branch",
    delivery_instructions: 'how to deliver, for the configured delivery'
  },
  fixForward: {
    repo: 'owner/name of the repository',
    issue: 'the issue number',
    title: "the issue's title",
    url: "the issue's URL",
    commit: 'the SHA of the red commit',
    ci_url: 'a link to the failing CI, or "(not known)"',
    attempt: 'this fix-forward attempt (1-based)',
    max_attempts: 'the fix-forward budget',
    branch: 'the branch to push (pull-request delivery): afk/issue-N'
  }
} as const

export type TemplateKind = keyof typeof PROMPT_PLACEHOLDERS

/** The branch an agent pushes for pull-request delivery; the adapter relies on it. */
export function runBranch(issue: number): string {
  return `afk/issue-${issue}`
}

/** Remove HTML comments, including one left unterminated at the end. */
export function stripHiddenComments(text: string): string {
  return text.replace(/<!--[\s\S]*?(?:-->|$)/g, '')
}

export const DEFAULT_FIRST_TEMPLATE = `You are working on issue #{{issue}} in {{repo}}: "{{title}}".
{{url}}

{{body}}

Work autonomously: nobody is watching. When you are done, deliver your work as follows.
{{delivery_instructions}}

Make sure the repository's tests pass before you push. If you cannot complete the issue, stop and explain why in your final message without pushing.`

export const DEFAULT_FIX_FORWARD_TEMPLATE = `CI is red on your commit {{commit}} for issue #{{issue}} in {{repo}} ("{{title}}").
Failing CI: {{ci_url}}

This is fix-forward attempt {{attempt}} of {{max_attempts}}. Investigate the failing run, find and fix the cause (do not disable or skip the failing check), push the fix to the same place as before ({{branch}} for a pull request), and watch CI until it is green.`

function deliveryInstructions(facts: FirstTurnFacts): string {
  if (facts.delivery === 'trunk') {
    return [
      `Commit directly to the default branch (${facts.defaultBranch}) and push it.`,
      `Every commit message must reference the issue as #${facts.issue}, e.g. "Fix the parser (#${facts.issue})".`
    ].join('\n')
  }
  return [
    `Push your work to the branch ${runBranch(facts.issue)} and open a pull request into ${facts.defaultBranch}.`,
    `The pull request body must contain "Closes #${facts.issue}" so that merging it closes the issue.`
  ].join('\n')
}

/**
 * Fill `{{name}}` placeholders. Unknown names are left as they are (the
 * configuration check refuses them before a template gets here).
 */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(values, name) ? (values[name] ?? '') : whole
  )
}

/** Placeholders a template uses that its kind doesn't know. */
export function unknownPlaceholders(template: string, kind: TemplateKind): string[] {
  const known = new Set(Object.keys(PROMPT_PLACEHOLDERS[kind]))
  const unknown = new Set<string>()
  for (const match of template.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
    const name = match[1] ?? ''
    if (!known.has(name)) unknown.add(name)
  }
  return [...unknown]
}

/** The first turn's prompt. */
export function firstTurnPrompt(facts: FirstTurnFacts, template = DEFAULT_FIRST_TEMPLATE): string {
  return fillTemplate(template, {
    repo: facts.repo,
    issue: String(facts.issue),
    title: facts.title,
    body: stripHiddenComments(facts.body).trim(),
    url: facts.url,
    branch: runBranch(facts.issue),
    default_branch: facts.defaultBranch,
    delivery_instructions: deliveryInstructions(facts)
  })
}

/** The fix-forward turn's prompt (the pilot's words). */
export function fixForwardPrompt(
  facts: FixForwardFacts,
  template = DEFAULT_FIX_FORWARD_TEMPLATE
): string {
  return fillTemplate(template, {
    repo: facts.repo,
    issue: String(facts.issue),
    title: facts.title,
    url: facts.url,
    commit: facts.commit,
    ci_url: facts.ciUrl ?? '(not known)',
    attempt: String(facts.attempt),
    max_attempts: String(facts.maxAttempts),
    branch: facts.delivery === 'trunk' ? 'the default branch' : runBranch(facts.issue)
  })
}
