/**
 * `npm run demo`: the real bundle (dist/index.js) driving four issues against
 * a loopback GitHub and a loopback T3 Code server, with no network and no
 * secrets. Each issue's scripted agent takes a different path:
 *
 *   #1 lands at once; #2 pushes red CI, fixes forward, lands;
 *   #3 errors before pushing (handed back); #4 pushes but CI never starts (frozen).
 *
 * Prints each tick's decisions, then each issue's status comment, the last
 * tick's job summary, and the doorbells the webhook received.
 *
 * `npm run demo -- --agent copilot` (or `workflow`) runs the same issues with
 * the agents behind that backend instead: Copilot cloud agent tasks in the
 * loopback GitHub's agent tasks API, or agent workflow runs.
 */
import { runAction } from '../sandbox/action-process.js'
import { startWorld } from '../sandbox/scenario.js'

const REPO = 'acme/widgets'
const started = Date.now()
const agentFlag = process.argv.indexOf('--agent')
const agent = agentFlag >= 0 ? process.argv[agentFlag + 1] : 't3'
if (agent !== 't3' && agent !== 'workflow' && agent !== 'copilot') {
  console.error(`--agent '${agent ?? ''}' is not a backend: use t3, workflow or copilot.`)
  process.exit(2)
}
const world = await startWorld({ repos: [REPO], agent })
const issues = [
  world.addIssue(REPO, 'Parser drops trailing commas', [['run', 'push:green', 'idle']]),
  world.addIssue(REPO, 'Date formatting ignores the locale', [
    ['run', 'push:red', 'idle'],
    ['run', 'push:green', 'idle']
  ]),
  world.addIssue(REPO, 'Migrate the build to a new bundler', [['run', 'error']]),
  world.addIssue(REPO, 'Bump the test matrix to node 24', [['run', 'push:missing', 'idle']])
]
const inputs = world.inputs({
  'ci-start-timeout': '4s',
  'max-concurrent': '4',
  'max-concurrent-per-repo': '4'
})

const pad = (text: string, width: number) => text.padEnd(width).slice(0, width)
const ended = () =>
  issues.every((n) => world.doorbells.some((d) => d.body.issue === n)) &&
  issues.every((n) =>
    /^### afk-loop: (landed|handed back)/.test(world.store.issue(REPO, n).comments[0]?.body ?? '')
  )

console.log(
  `afk-loop demo: ${issues.length} issues in ${REPO}, the bundle against a loopback GitHub and ${
    { t3: 'T3', workflow: 'agent workflow runs', copilot: 'Copilot agent tasks' }[agent]
  }.\n`
)
let summary = ''
try {
  for (let tick = 1; tick <= 25 && !ended(); tick++) {
    const run = await runAction(inputs, world.env())
    if (run.code !== 0) {
      console.error(run.stdout, run.stderr)
      throw new Error(`tick ${tick} failed`)
    }
    summary = run.summary
    const rows = JSON.parse(run.outputs.runs ?? '[]') as {
      issue: number
      action: string
      reason: string
      attempts: number
    }[]
    console.log(`tick ${String(tick).padStart(2)}  ${run.outputs.summary ?? ''}`)
    for (const r of rows.filter((r) => r.action !== 'DONE')) {
      console.log(
        `         #${r.issue}  ${pad(r.action, 16)} ${pad(r.reason, 26)} attempts ${r.attempts}`
      )
    }
    await world.advance()
    // Let the clock move so deadlines (ci-start-timeout: 4s) can pass.
    await new Promise((resolve) => setTimeout(resolve, 400))
  }
  console.log('\n================ status comments ================')
  for (const n of issues) {
    const body = world.store.issue(REPO, n).comments[0]?.body ?? '(none)'
    console.log(
      `\n--- ${REPO}#${n} ---\n${body.slice(0, body.indexOf('<!-- afk-loop:record')).trim()}`
    )
  }
  console.log('\n================ last job summary ================\n')
  console.log(summary.trim())
  console.log('\n================ doorbells (webhook) ================\n')
  for (const d of world.doorbells)
    console.log(`#${d.body.issue}  ${pad(d.body.kind, 12)} ${d.body.reason}  key ${d.body.key}`)
  const counts = world.github.counts
  console.log(
    `\nGitHub requests: ${counts['graphql-read']} GraphQL reads, ${counts['graphql-write']} GraphQL writes, ${counts['rest-read']} REST reads, ${counts['rest-write']} REST writes; API violations: ${world.github.violations.length}.`
  )
  if (agent === 'copilot') console.log(`Copilot tasks started: ${world.agentTasks.created}.`)
  console.log(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s.`)
  if (!ended()) process.exitCode = 1
} finally {
  await world.close()
}
