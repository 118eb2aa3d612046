/**
 * How the input checks scale: the loop parses every input and strips hidden
 * text from every issue body on every tick, so a crafted input must cost time
 * in proportion to its length. Once the template check was cubic (`{{` and
 * 5,000 spaces took 40 s, and ran even with `mode: off`).
 *
 * Timing belongs in `npm run bench`, not in unit tests: on a busy machine a
 * wall-clock limit is a coin toss. What this checks is a ratio — ten times the
 * input should cost about ten times as long (linear), where quadratic would be
 * a hundred and cubic a thousand — with the best of several rounds.
 */
import { parseConfig, type RawInputs } from '../src/config.js'
import { stripHiddenText } from '../src/core/prompts.js'

/** Every input fed its pathological shape, n characters long. */
export function pathologicalInputs(n: number): Partial<RawInputs> {
  return {
    mode: 'on',
    repos: `${'a'.repeat(n)}/${'-'.repeat(n)}`,
    'github-token': 'tok',
    'prompt-template': `{{${' '.repeat(n)}`,
    'fix-forward-prompt-template': '{{ {{'.repeat(n / 5) + ' '.repeat(n),
    't3-projects': `a/b${' '.repeat(n)}=${' '.repeat(n)}x y`,
    't3-model': `${'a.'.repeat(n / 2)}`,
    'notify-mention': `@${'a-'.repeat(n / 2)}!`,
    'trusted-associations': ','.repeat(n),
    'ignore-checks': ' ,\n'.repeat(n / 3),
    'max-runtime': `${'1'.repeat(n)}h`,
    'notify-webhook-url': `https://${'a.'.repeat(n / 2)}`,
    'ready-label': 'x'.repeat(n)
  }
}

/** Adversarial issue bodies for the hidden-text stripper, about n characters each. */
export function adversarialBodies(n: number): string[] {
  return [
    '<a b="'.repeat(n / 6),
    '<!'.repeat(n / 2),
    '\n[a]:'.repeat(n / 5),
    '\n['.repeat(n / 2),
    `<a ${' '.repeat(n)}`,
    '&#x200b;'.repeat(n / 8),
    '<a'.repeat(n / 2),
    `[${'a'.repeat(n)}`,
    '\n[a\\'.repeat(n / 4),
    '<a b=c '.repeat(n / 7),
    `<script>${'<script>'.repeat(n / 8)}`,
    `{{${' '.repeat(n)}`,
    // HTML blocks, read the browser's way: tags, quotes and blocks that never close
    '<div a="\n'.repeat(n / 9),
    '<div>\n' + '<a b= '.repeat(n / 6),
    '<pre>\n'.repeat(n / 6),
    '</div x="'.repeat(n / 9),
    '<\n'.repeat(n / 2),
    '<a x=\'<a y="'.repeat(n / 12),
    `\n<script>${'</scriptx'.repeat(n / 9)}`,
    // link titles and definitions at any depth
    '](<'.repeat(n / 3),
    '](a "'.repeat(n / 5),
    `](](](a${' '.repeat(n)}"x`,
    `${'> '.repeat(n / 2)}[c]: <> (x)`,
    `${'> '.repeat(100)}\n`.repeat(n / 201)
  ]
}

function best(rounds: number, work: () => void): number {
  let fastest = Infinity
  for (let i = 0; i < rounds; i++) {
    const start = performance.now()
    work()
    fastest = Math.min(fastest, performance.now() - start)
  }
  return fastest
}

export interface ScalingResult {
  name: string
  smallMs: number
  largeMs: number
  /** largeMs / smallMs for ten times the input: ~10 linear, ~100 quadratic. */
  ratio: number
}

/** Ten times the input, timed against the input: one row per check (inputs are built untimed). */
export function measureScaling(small = 20_000, rounds = 5): ScalingResult[] {
  const large = small * 10
  const row = <T>(
    name: string,
    build: (n: number) => T,
    run: (input: T) => void
  ): ScalingResult => {
    const [a, b] = [build(small), build(large)]
    run(a) // warm up the JIT before timing
    const smallMs = best(rounds, () => run(a))
    const largeMs = best(rounds, () => run(b))
    return { name, smallMs, largeMs, ratio: largeMs / Math.max(smallMs, 0.5) }
  }
  return [
    row('parse every input (pathological shapes)', pathologicalInputs, (i) => void parseConfig(i)),
    row(
      'mode off with a pathological template',
      (n) => ({ ...pathologicalInputs(n), mode: 'off' }),
      (i) => void parseConfig(i)
    ),
    row('strip hidden text (adversarial bodies)', adversarialBodies, (bodies) => {
      for (const body of bodies) stripHiddenText(body)
    })
  ]
}

/** Linear gives about 10; anything past this is super-linear. */
export const MAX_SCALING_RATIO = 40
