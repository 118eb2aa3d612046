/**
 * Whether an agent workflow file can be driven by the loop, read from its
 * YAML (for `mode: check`): the loop dispatches it with the inputs `issue`,
 * `prompt` and `run_key`, and finds its run by the exact name
 * `afk <run_key>`, so the file must declare those inputs under
 * `on.workflow_dispatch` and set `run-name: afk ${{ inputs.run_key }}`.
 */
import { parse } from 'yaml'

export const REQUIRED_INPUTS = ['issue', 'prompt', 'run_key'] as const
const RUN_NAME = /^afk \$\{\{\s*(?:inputs|github\.event\.inputs)\.run_key\s*\}\}$/

/** What is wrong with the workflow, in words a maintainer can act on; empty when nothing is. */
export function agentWorkflowProblems(text: string): string[] {
  let doc: unknown
  try {
    doc = parse(text)
  } catch (error) {
    return [`it is not valid YAML (${(error as Error).message.split('\n')[0]})`]
  }
  if (!doc || typeof doc !== 'object') return ['it is not a workflow (no mapping at the top)']
  const workflow = doc as Record<string, unknown>
  const problems: string[] = []
  const on = workflow.on
  const dispatch =
    on && typeof on === 'object' && !Array.isArray(on)
      ? (on as Record<string, unknown>).workflow_dispatch
      : undefined
  const triggered =
    on === 'workflow_dispatch' ||
    (Array.isArray(on) && on.includes('workflow_dispatch')) ||
    (on !== null && typeof on === 'object' && !Array.isArray(on) && 'workflow_dispatch' in on)
  if (!triggered) problems.push('it has no `on: workflow_dispatch` trigger')
  const inputs =
    dispatch && typeof dispatch === 'object'
      ? ((dispatch as Record<string, unknown>).inputs as Record<string, unknown> | undefined)
      : undefined
  const missing = REQUIRED_INPUTS.filter((name) => !inputs || !(name in inputs))
  if (triggered && missing.length > 0) {
    problems.push(
      `its workflow_dispatch lacks the input${missing.length > 1 ? 's' : ''} ${missing.map((m) => `\`${m}\``).join(', ')}`
    )
  }
  const runName = typeof workflow['run-name'] === 'string' ? workflow['run-name'].trim() : null
  if (runName === null || !RUN_NAME.test(runName)) {
    problems.push(
      `its run-name is ${runName === null ? 'missing' : `\`${runName}\``}; set \`run-name: afk \${{ inputs.run_key }}\` (the loop finds its run by that name)`
    )
  }
  return problems
}
