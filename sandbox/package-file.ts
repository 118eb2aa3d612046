/**
 * Find a file inside an installed package, even one its `exports` map hides
 * (the schemas ship as plain files): walk up from here to `node_modules`.
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'

export function packageFile(pkg: string, file: string): string {
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', pkg, file)
    if (existsSync(candidate)) return candidate
    if (dirname(dir) === dir)
      throw new Error(`sandbox: ${pkg}/${file} is not installed (run npm ci)`)
  }
}
