/**
 * `npm run sandbox`: the loopback GitHub, T3 Code server and doorbell
 * receiver on fixed ports, for running the action by hand against them —
 * `npm run local-action` with `.env.example` copied to `.env`, or the bundle
 * itself. Seeds `acme/widgets` with three ready issues (one lands, one needs a
 * fix-forward, one errors), moves every agent one step every few seconds, and
 * prints what changes. Ctrl-C stops it.
 */
import { LOOP_LOGIN, startWorld } from '../sandbox/scenario.js'

const PORTS = { github: 4010, t3: 4011, doorbell: 4012 }
const REPO = 'acme/widgets'
const STEP_MS = 3000

const world = await startWorld({
  repos: [REPO],
  github: { port: PORTS.github },
  t3: { port: PORTS.t3 },
  doorbellPort: PORTS.doorbell
})
const issues = [
  world.addIssue(REPO, 'Parser drops trailing commas', [['run', 'push:green', 'idle']]),
  world.addIssue(REPO, 'Date formatting ignores the locale', [
    ['run', 'push:red', 'idle'],
    ['run', 'push:green', 'idle']
  ]),
  world.addIssue(REPO, 'Migrate the build to a new bundler', [['run', 'error']])
]

console.log(`afk-loop sandbox: ${REPO} with issues ${issues.map((n) => `#${n}`).join(', ')}
  GitHub   ${world.github.url}  (GraphQL ${world.github.graphqlUrl})
  T3 Code  ${world.t3.url}
  doorbell ${world.hookUrl}
Copy .env.example to .env and run \`npm run local-action\` in another terminal, once per tick.
Ctrl-C stops the sandbox.
`)

const seen = new Map<number, string>()
const report = () => {
  for (const n of issues) {
    const issue = world.store.issue(REPO, n)
    const heading = issue.comments.find((c) => c.author === LOOP_LOGIN)?.body.split('\n')[0] ?? ''
    const line = `#${n} ${issue.state.toLowerCase()} [${issue.labels.join(', ')}] ${heading}`
    if (seen.get(n) !== line) console.log(line)
    seen.set(n, line)
  }
  for (const d of world.doorbells.splice(0)) {
    console.log(`doorbell: ${d.body.kind} for #${d.body.issue} (${d.body.reason})`)
  }
}
report()
const timer = setInterval(() => {
  void world.advance().then(report)
}, STEP_MS)

const stop = () => {
  clearInterval(timer)
  void world.close().then(() => process.exit(0))
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
