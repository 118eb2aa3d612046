/**
 * Run the committed bundle the way a runner does: `node dist/index.js` with
 * inputs as `INPUT_<NAME>` variables (hyphens kept, as the runner keeps them),
 * and GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files to read back.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface ActionRun {
  code: number | null
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
}

export const BUNDLE = join(process.cwd(), 'dist', 'index.js')

/** Parse the runner's `name<<delimiter` output file format. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[i] ?? '')
    if (!match) continue
    const [, name = '', delimiter] = match
    const value: string[] = []
    for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] ?? '')
    outputs[name] = value.join('\n')
  }
  return outputs
}

/** Run the bundle once with these inputs and extra environment. */
export async function runAction(
  inputs: Record<string, string>,
  env: Record<string, string> = {},
  timeoutMs = 60_000,
  onChild?: (child: ChildProcess) => void,
  nodeArgs: string[] = []
): Promise<ActionRun> {
  const dir = mkdtempSync(join(tmpdir(), 'afk-action-'))
  const outputFile = join(dir, 'output')
  const summaryFile = join(dir, 'summary')
  writeFileSync(outputFile, '')
  writeFileSync(summaryFile, '')
  const inputEnv = Object.fromEntries(
    Object.entries(inputs).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value])
  )
  // Start from a clean environment: nothing of the test runner's INPUT_* or GITHUB_* leaks in.
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('INPUT_') && !k.startsWith('GITHUB_'))
  )
  try {
    return await new Promise<ActionRun>((resolve, reject) => {
      const child = spawn(process.execPath, [...nodeArgs, BUNDLE], {
        env: {
          ...base,
          GITHUB_OUTPUT: outputFile,
          GITHUB_STEP_SUMMARY: summaryFile,
          GITHUB_REPOSITORY: 'acme/ops',
          GITHUB_ACTIONS: 'true',
          RUNNER_TEMP: dir,
          ...inputEnv,
          ...env
        },
        stdio: ['ignore', 'pipe', 'pipe']
      })
      onChild?.(child)
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`the action did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`))
      }, timeoutMs)
      child.on('close', (code) => {
        clearTimeout(timer)
        resolve({
          code,
          stdout,
          stderr,
          outputs: parseOutputFile(readFileSync(outputFile, 'utf8')),
          summary: readFileSync(summaryFile, 'utf8')
        })
      })
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
