/**
 * What of an issue's text GitHub shows nobody, removed before the text reaches
 * an agent ({@link stripHiddenText}). Issue text is untrusted: instructions a
 * reader of the issue can't see must never become the agent's instructions.
 *
 * GitHub renders Markdown with cmark-gfm, then hands the HTML to an HTML5
 * parser and its sanitizer, then to the browser. So text is hidden in three
 * ways, and each has its own pass here:
 *
 * 1. Characters that render as nothing: Unicode's default-ignorable code points
 *    (zero-width characters, bidirectional controls, variation selectors, the
 *    whole tag block U+E0000–E0FFF, assigned or not), every other format
 *    character, controls and lone surrogates — also spelled as character
 *    references (`&#x200B;`, `&zwj;`, `&shy`).
 * 2. HTML. Inline, in a paragraph, cmark passes only a well-formed tag (the
 *    spec's strict grammar) and shows anything else as text. But a line that
 *    starts an *HTML block* (a block-level tag such as `<div` or `</table`, any
 *    complete tag alone on a line, a comment …) hands the whole block to the
 *    HTML parser as it is, and that parser hides far more: any `<` + letter
 *    opens a tag that runs to the next `>` outside a quoted value
 *    (`<div 1="x">`, `</div x>`), and an unclosed quote swallows text until a
 *    `"` that cmark didn't escape, possibly much later. So inside HTML blocks
 *    tags are cut the way a browser reads them; outside, the strict way.
 *    Comments, processing instructions, declarations, CDATA, and the content
 *    of elements the sanitizer drops or never shows (`script`, `style`, `rp` …)
 *    go too.
 * 3. Markdown that renders as nothing or only on hover: link reference
 *    definitions (`[c]: <> (text)`, at any depth of quotes and lists) and link
 *    titles (`[ok](url "text")`: a tooltip). Image alt text stays: it is what
 *    the page shows when the image doesn't load and what a screen reader says.
 *
 * Errs on the side of removing: a visible fragment removed costs little, a
 * hidden one kept is an injection. Every pass is linear in the text's length
 * (`npm run bench` times adversarial bodies ten times apart): each scan moves
 * forward, and searches that could repeat are remembered.
 */

/**
 * Characters GitHub shows as nothing: default-ignorable code points (which
 * include the Mongolian free variation selectors U+180B–180F, U+2065,
 * U+FFF0–FFF8 and the unassigned tag-block code points), format characters
 * beyond them (U+0600–0605, U+06DD, U+110BD …), controls, lone surrogates.
 * Tab and newline are kept by the caller.
 */
const INVISIBLE = /[\p{DI}\p{Cf}\p{Cc}\p{Cs}]/gu

/**
 * Named character references that decode to an invisible character (the HTML
 * standard's table has no others). Names are matched without case: an invalid
 * spelling like `&ZWJ;` is shown as text by GitHub, and removing it costs nothing.
 */
const INVISIBLE_ENTITIES = new Set([
  'shy',
  'zwj',
  'zwnj',
  'lrm',
  'rlm',
  'nobreak',
  'zerowidthspace',
  'negativeverythinspace',
  'negativethinspace',
  'negativemediumspace',
  'negativethickspace',
  'invisibletimes',
  'invisiblecomma',
  'applyfunction',
  'it',
  'ic',
  'af'
])

function isInvisible(ch: string): boolean {
  return ch !== '\t' && ch !== '\n' && ch.replace(INVISIBLE, '') === ''
}

/**
 * Character references as a browser reads them in raw HTML: numeric ones with
 * any number of digits and the `;` optional, `&shy` (the one legacy name
 * without `;` that is invisible), other names with `;`.
 */
const CHARACTER_REFERENCE =
  /&(?:#[xX]([0-9a-fA-F]+);?|#([0-9]+);?|([A-Za-z][A-Za-z0-9]{0,31});|(shy))/g

/** Drop invisible characters and the character references that spell them. */
function stripInvisible(text: string): string {
  return text
    .replace(/\r\n?|[\u2028\u2029\u0085]/g, '\n')
    .replace(INVISIBLE, (ch) => (ch === '\t' || ch === '\n' ? ch : ''))
    .replace(CHARACTER_REFERENCE, (whole, hex, dec, name, legacy) => {
      if (legacy !== undefined) return ''
      if (name !== undefined) return INVISIBLE_ENTITIES.has(String(name).toLowerCase()) ? '' : whole
      const digits = String(hex ?? dec).replace(/^0+/, '')
      const code =
        digits.length > 8 ? Infinity : parseInt(digits || '0', hex !== undefined ? 16 : 10)
      // 0, surrogates and values past U+10FFFF become U+FFFD, the browser's and cmark's choice.
      if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return '\ufffd'
      return isInvisible(String.fromCodePoint(code)) ? '' : whole
    })
}

/**
 * Remembers where a forward search found its target, so that asking again
 * from a later position before that point costs nothing: searches from
 * positions that only grow stay linear in all.
 */
class Finder {
  private from = -1
  private at = -1
  constructor(private readonly search: (from: number) => number) {}
  next(from: number): number {
    if (from < this.from || from > this.at || this.from < 0) {
      this.from = from
      this.at = this.search(from)
    }
    return this.at
  }
}

const WHITESPACE = new Set([' ', '\t', '\n', '\f'])
const isLetter = (ch: string | undefined): boolean =>
  ch !== undefined && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))

/** Strict (CommonMark) tag grammar, for HTML inside a paragraph. */
const TAG_NAME = /[A-Za-z0-9-]/
const ATTR_START = /[A-Za-z_:]/
const ATTR_NAME = /[A-Za-z0-9_.:-]/
const UNQUOTED_VALUE_STOP = /[\s"'=<>`]/

/**
 * Elements whose content nobody sees: the sanitizer drops these with their
 * content (`script`, `style` …), the parser reads the content of some as text
 * GitHub then drops (`textarea`, `title`, `noembed` …), and browsers don't
 * show ruby fallback parentheses (`rp`) where ruby works.
 */
const REMOVED_WITH_CONTENT = new Set([
  'script',
  'style',
  'template',
  'noscript',
  'noembed',
  'noframes',
  'iframe',
  'object',
  'textarea',
  'title',
  'rp'
])
/** Of those, the ones whose content the parser reads as text up to the first `</name`. */
const RAW_TEXT = new Set([
  'script',
  'style',
  'noscript',
  'noembed',
  'noframes',
  'iframe',
  'textarea',
  'title'
])

/** Tag names that start an HTML block (start condition 6), a superset of GFM's and CommonMark's lists. */
const BLOCK_TAGS = new Set(
  (
    'address article aside base basefont blockquote body caption center col colgroup dd details ' +
    'dialog dir div dl dt fieldset figcaption figure footer form frame frameset h1 h2 h3 h4 h5 h6 ' +
    'head header hr html iframe legend li link main menu menuitem meta nav noframes ol optgroup ' +
    'option p param search section source summary table tbody td tfoot th thead title tr track ul'
  ).split(' ')
)
/** Tags that start an HTML block running to their end tag (start condition 1). */
const LITERAL_BLOCK_TAGS = ['script', 'pre', 'style', 'textarea']

/** Characters before a block that open containers (quotes, list items) or indent it. */
const CONTAINER_PREFIX = new Set([' ', '\t', '>', '*', '+', '-', '.', ')', ...'0123456789'])

interface Block {
  /** Where its raw HTML starts: the `<` after any container markers. */
  start: number
  /** Raw HTML runs up to here: the end of the block's last line. */
  end: number
  /** The block sits in a quote or list, which can end it before a blank line. */
  contained: boolean
}

/** One pass over the text: see {@link stripHtml}. */
class HtmlStripper {
  private readonly lower: string
  private readonly n: number
  private readonly lt: Finder
  private readonly nl: Finder
  private readonly blank: Finder
  private readonly literalEnds: Finder[]
  private readonly lastClose = new Map<string, number>()
  /** The HTML block the scan is in or last left. */
  private block: Block = { start: 0, end: 0, contained: false }

  constructor(private readonly text: string) {
    // ASCII only: a full toLowerCase changes some strings' length (İ → i̇), and
    // `lower` must index like `text`. Tag names are ASCII.
    this.lower = text.replace(/[A-Z]+/g, (s) => s.toLowerCase())
    this.n = text.length
    const orEnd = (at: number): number => (at < 0 ? this.n : at)
    this.lt = new Finder((from) => orEnd(text.indexOf('<', from)))
    this.nl = new Finder((from) => {
      const at = text.indexOf('\n', from)
      return at < 0 ? this.n : at
    })
    const blankLine = /\n[ \t]*(?=\n|$)/g
    this.blank = new Finder((from) => {
      blankLine.lastIndex = from
      return blankLine.exec(text)?.index ?? this.n
    })
    this.literalEnds = LITERAL_BLOCK_TAGS.map(
      (name) => new Finder((from) => orEnd(this.lower.indexOf(`</${name}>`, from)))
    )
  }

  run(): string {
    const { text, n } = this
    let out = ''
    let from = 0 // text before this is copied or removed
    let pos = 0 // constructs are looked for from here
    for (let lineStart = 0; lineStart < n;) {
      let lineEnd = text.indexOf('\n', lineStart)
      if (lineEnd < 0) lineEnd = n
      if (pos <= lineStart && lineStart >= this.block.end) {
        this.block = this.blockAt(lineStart, lineEnd) ?? this.block
      }
      for (;;) {
        const i = this.lt.next(Math.max(pos, lineStart))
        if (i >= lineEnd) break
        const raw = i < this.block.end
        const end = raw ? this.rawEnd(i) : this.inlineEnd(i)
        if (end < 0) {
          pos = i + 1
          continue
        }
        if (!raw && this.blank.next(i) < end) {
          // A comment that ran past a blank line, which cmark would have
          // ended the paragraph at: what follows it on its last line may be
          // an HTML block on GitHub, so read it as one, to be safe.
          this.block = { start: end, end: this.blank.next(end), contained: true }
        }
        out += text.slice(from, i)
        from = pos = end
        if (end > lineEnd) break
      }
      lineStart = lineEnd + 1
    }
    return out + text.slice(from)
  }

  /** The next non-blank line after `from` if it starts an HTML block, with the block. */
  private nextBlock(from: number): { start: number; block: Block } | null {
    const { text } = this
    let start = from
    while (start < this.n && (text[start] === ' ' || text[start] === '\t' || text[start] === '\n'))
      start++
    if (start >= this.n) return null
    const lineStart = text.lastIndexOf('\n', start - 1) + 1
    const block = this.blockAt(lineStart, this.nl.next(start))
    return block ? { start: block.start, block } : null
  }

  /** The HTML block that starts on the line at `lineStart`, if one does. */
  private blockAt(lineStart: number, lineEnd: number): Block | null {
    const { text, lower } = this
    let k = lineStart
    while (k < lineEnd && CONTAINER_PREFIX.has(text[k] ?? '')) k++
    if (text[k] !== '<') return null
    const contained = /[^ \t]/.test(text.slice(lineStart, k))
    const lineOf = (at: number): number => {
      const nl = text.indexOf('\n', at)
      return nl < 0 ? this.n : nl
    }
    const markup = this.markupEnd(k, false)
    if (markup >= 0) return { start: k, end: lineOf(markup), contained } // conditions 2–5
    const closing = text[k + 1] === '/'
    let j = k + (closing ? 2 : 1)
    while (j < lineEnd && /[a-z0-9]/.test(lower[j] ?? '')) j++
    const name = lower.slice(k + (closing ? 2 : 1), j)
    const after = text[j]
    const ends =
      j === lineEnd || WHITESPACE.has(after ?? '') || after === '>' || text.startsWith('/>', j)
    const literal = LITERAL_BLOCK_TAGS.indexOf(name)
    if (ends && !closing && literal >= 0) {
      const close = this.literalEnds[literal]?.next(k) ?? this.n
      return { start: k, end: lineOf(close), contained } // condition 1
    }
    if (ends && BLOCK_TAGS.has(name)) return { start: k, end: this.blank.next(k), contained } // condition 6
    const tag = this.strictTagEnd(k)
    if (tag && tag.end <= lineEnd && /^[ \t]*$/.test(text.slice(tag.end, lineEnd))) {
      return { start: k, end: this.blank.next(k), contained } // condition 7
    }
    return null
  }

  /**
   * The end of the comment, processing instruction, declaration or CDATA at
   * `i`, or -1, by Markdown's markers (a browser ends some earlier: `<?…>`
   * at the first `>`). Inside an HTML block a browser reads more as bogus
   * comments (`<!x`, `</1`, `</>`): `lenient` takes those too. Unterminated,
   * each hides the rest of the text.
   */
  private markupEnd(i: number, lenient: boolean): number {
    const { text } = this
    const to = (marker: string, from: number): number => {
      const at = text.indexOf(marker, from)
      return at < 0 ? this.n : at + marker.length
    }
    if (text.startsWith('<!--', i)) {
      // `<!-->` and `<!--->` are complete (empty) comments.
      if (text.startsWith('>', i + 4)) return i + 5
      if (text.startsWith('->', i + 4)) return i + 6
      return to('-->', i + 4)
    }
    // A browser ends `<?` at the first `>`, Markdown at `?>`: the longer goes.
    if (text.startsWith('<?', i)) return to('?>', i + 2)
    if (text.startsWith('<![CDATA[', i)) return to(']]>', i + 9)
    if (text[i + 1] === '!' && (lenient || isLetter(text[i + 2]))) return to('>', i + 2)
    if (lenient && text[i + 1] === '/' && text[i + 2] === '>') return i + 3
    if (lenient && text[i + 1] === '/' && i + 2 < this.n && !isLetter(text[i + 2])) {
      return to('>', i + 2)
    }
    return -1
  }

  /** A tag or other construct inside a paragraph (strict grammar), or -1. */
  private inlineEnd(i: number): number {
    const markup = this.markupEnd(i, false)
    if (markup >= 0) return markup
    const tag = this.strictTagEnd(i)
    // A paragraph ends at a blank line, and inline HTML with it.
    if (!tag || this.blank.next(i) < tag.end) return -1
    return this.contentEnd(tag.name, tag.end, tag.closing)
  }

  /**
   * A CommonMark open or closing tag at `i`: its end (exclusive) and name, or
   * null when the text there is shown literally. Each scan stops at the
   * tag's first possible end.
   */
  private strictTagEnd(i: number): { end: number; name: string; closing: boolean } | null {
    const { text, lower } = this
    const closing = text[i + 1] === '/'
    let j = i + (closing ? 2 : 1)
    if (!isLetter(text[j])) return null
    const nameStart = j
    while (j < this.n && TAG_NAME.test(text[j] ?? '')) j++
    const name = lower.slice(nameStart, j)
    const skipSpace = (): boolean => {
      const from = j
      while (j < this.n && /\s/.test(text[j] ?? '')) j++
      return j > from
    }
    if (closing) {
      skipSpace()
      return text[j] === '>' ? { end: j + 1, name, closing } : null
    }
    for (;;) {
      const spaced = skipSpace()
      if (text[j] === '>' || (text[j] === '/' && text[j + 1] === '>')) break
      if (!spaced || !ATTR_START.test(text[j] ?? '')) return null
      while (j < this.n && ATTR_NAME.test(text[j] ?? '')) j++
      const beforeValue = j
      skipSpace()
      if (text[j] !== '=') {
        j = beforeValue
        continue
      }
      j++
      skipSpace()
      const quote = text[j]
      if (quote === '"' || quote === "'") {
        const close = text.indexOf(quote, j + 1)
        if (close < 0) return null
        j = close + 1
      } else {
        const from = j
        while (j < this.n && !UNQUOTED_VALUE_STOP.test(text[j] ?? '')) j++
        if (j === from) return null
      }
    }
    return { end: text[j] === '>' ? j + 1 : j + 2, name, closing }
  }

  /** A construct inside an HTML block, read as the browser's tokenizer does, or -1 for a literal `<`. */
  private rawEnd(i: number): number {
    const { text, lower } = this
    const markup = this.markupEnd(i, true)
    if (markup > this.block.end) {
      // Past the block, cmark escapes `>` in text: a comment runs on to a
      // `-->` nobody can place; anything else ends at the tag that opens the
      // next block (`<p>`), or at the first `>` of a raw one, which that
      // block's own reading removes anyway.
      return text.startsWith('<!--', i) ? this.n : this.block.end
    }
    if (markup >= 0) return markup
    const closing = text[i + 1] === '/'
    let j = i + (closing ? 2 : 1)
    if (!isLetter(text[j])) return -1
    const nameStart = j
    while (j < this.n && !WHITESPACE.has(text[j] ?? '') && text[j] !== '/' && text[j] !== '>') j++
    const name = lower.slice(nameStart, j)
    // The tokenizer's attribute states: a quote opens a value only after
    // `=`; `>` anywhere else ends the tag (end tags have attributes too).
    let state: 'before' | 'name' | 'after' | 'equals' | 'unquoted' = 'before'
    for (; j < this.n; j++) {
      if (j >= this.block.end) {
        // Past its block, the browser's tag runs into what cmark renders
        // next: the first tag of a Markdown block (`<p>`) ends it there; an
        // HTML block's raw text goes on feeding it.
        const next = this.nextBlock(this.block.end)
        if (!next) return this.block.end
        this.block = next.block
        j = next.start
      }
      const ch = text[j] ?? ''
      if (ch === '>') return this.contentEnd(name, j + 1, closing)
      const space = WHITESPACE.has(ch)
      switch (state) {
        case 'equals':
          if (ch === '"' || ch === "'") {
            const close = text.indexOf(ch, j + 1)
            if (close < 0 || this.quoteLeavesBlock(j, close)) return this.n
            j = close
            state = 'before'
          } else if (!space) state = 'unquoted'
          break
        case 'unquoted':
          if (space) state = 'before'
          break
        case 'name':
          if (space) state = 'after'
          else if (ch === '/') state = 'before'
          else if (ch === '=') state = 'equals'
          break
        case 'after':
          if (ch === '=') state = 'equals'
          else if (ch === '/') state = 'before'
          else if (!space) state = 'name'
          break
        default:
          if (!space && ch !== '/') state = 'name'
      }
    }
    return this.n // a tag the text never closes hides the rest
  }

  /**
   * Whether a quoted value that opens at `open` inside an HTML block and
   * closes at `close` crosses the block's end: after it, cmark escapes every
   * `"` it renders, so the browser's value runs on to a quote only a link, an
   * image or more raw HTML emits — where, the text alone can't say.
   */
  private quoteLeavesBlock(open: number, close: number): boolean {
    if (this.nl.next(open) > close) return false
    return this.block.contained || close > this.block.end || this.blank.next(open) < close
  }

  /**
   * Where the text hidden with the tag that ends at `end` ends: past the
   * element's content for elements nobody sees, else the tag itself. Raw-text
   * content ends at the first `</name` followed by a space, `/` or `>`; other
   * such elements nest, so theirs runs to the last `</name` in the text.
   */
  private contentEnd(name: string, end: number, closing: boolean): number {
    if (closing || !REMOVED_WITH_CONTENT.has(name)) return end
    const { lower } = this
    const after = (at: number): number => {
      const gt = lower.indexOf('>', at)
      return gt < 0 ? this.n : gt + 1
    }
    if (RAW_TEXT.has(name)) {
      for (
        let at = lower.indexOf(`</${name}`, end);
        at >= 0;
        at = lower.indexOf(`</${name}`, at + 1)
      ) {
        const ch = lower[at + name.length + 2]
        if (ch === undefined || ch === '>' || ch === '/' || WHITESPACE.has(ch)) return after(at)
      }
      return this.n
    }
    let last = this.lastClose.get(name)
    if (last === undefined) {
      last = lower.lastIndexOf(`</${name}`)
      this.lastClose.set(name, last)
    }
    return last < end ? this.n : after(last)
  }
}

/** Remove every HTML construct GitHub doesn't show (tags keep the text between them). */
function stripHtml(text: string): string {
  return new HtmlStripper(text).run()
}

/**
 * Link reference definitions render as nothing, so `[c]: <> (text)`,
 * `[//]: # (text)` and any `[label]: url "title"` are comments in disguise.
 * A definition — at any depth of quotes and list items — and the lines that
 * follow it up to a blank line (where a multi-line title would continue) are
 * removed. The prefix can't hold a newline and a label is at most 999
 * characters (the spec's bound), so each line start costs its own line: linear.
 */
const LINK_DEFINITION =
  /(^|\n)[ \t>*+\-0-9.)]*\[(?:[^[\]\\]|\\[\s\S]){1,999}\]:[\s\S]*?(?=\n[ \t>]*\n|$)/g

/**
 * Remove inline link and image titles — `[text](url "title")`, `'title'`,
 * `(title)` — which a reader sees only as a tooltip, keeping the link, its
 * text and its URL. Found from each `](`: the destination (`<…>` or a run
 * without spaces), white space, the title, white space, `)`. Searches that
 * candidates share are remembered, so the pass is linear.
 */
function stripLinkTitles(text: string): string {
  const n = text.length
  const space = /[ \t\n]/g
  const spaceAt = new Finder((from) => {
    space.lastIndex = from
    return space.exec(text)?.index ?? n
  })
  const finderOf = (ch: string): Finder =>
    new Finder((from) => {
      const at = text.indexOf(ch, from)
      return at < 0 ? n : at
    })
  const [gtAt, ltAt, nlAt] = [finderOf('>'), finderOf('<'), finderOf('\n')]
  const closers = new Map<string, Finder>()
  const closerAt = (ch: string, from: number): number => {
    let finder = closers.get(ch)
    if (!finder) {
      finder = new Finder((at) => {
        for (let c = text.indexOf(ch, at); c >= 0; c = text.indexOf(ch, c + 1)) {
          let slashes = 0
          while (text[c - 1 - slashes] === '\\') slashes++
          if (slashes % 2 === 0) return c
        }
        return n
      })
      closers.set(ch, finder)
    }
    return finder.next(from)
  }
  const blankLine = /\n[ \t]*\n/g
  const blankAt = new Finder((from) => {
    blankLine.lastIndex = from
    return blankLine.exec(text)?.index ?? n
  })
  /** Past spaces and tabs and at most one line break. */
  const skipSpace = (from: number): number => {
    let j = from
    let breaks = 0
    while (j < n && (text[j] === ' ' || text[j] === '\t' || (text[j] === '\n' && ++breaks === 1)))
      j++
    return j
  }
  const PAIRS: Readonly<Record<string, string>> = { '"': '"', "'": "'", '(': ')' }
  let out = ''
  let from = 0
  let lastDest = -1
  let lastTitleEnd = -1
  for (let q = text.indexOf(']('); q >= 0;) {
    const d = skipSpace(q + 2)
    let destEnd: number
    if (text[d] === '<') {
      const gt = gtAt.next(d + 1)
      destEnd = gt < n && gt < ltAt.next(d + 1) && gt < nlAt.next(d + 1) ? gt + 1 : -1
    } else {
      destEnd = spaceAt.next(d)
    }
    // A destination the HTML pass emptied (`<a b>`): the title follows `](` and a space.
    if (d > q + 2 && PAIRS[text[d] ?? ''] !== undefined) destEnd = q + 2
    // Candidates inside one destination share its end and its title: once is enough.
    let titleEnd = -1
    if (destEnd > 0 && destEnd === lastDest) titleEnd = lastTitleEnd
    else if (destEnd > 0) {
      const t = skipSpace(destEnd)
      const closer = PAIRS[text[t] ?? '']
      if (t > destEnd && closer !== undefined) {
        const close = closerAt(closer, t + 1)
        if (close < n && blankAt.next(t) > close) {
          const e = skipSpace(close + 1)
          if (text[e] === ')') titleEnd = e
        }
      }
      lastDest = destEnd
      lastTitleEnd = titleEnd
    }
    if (titleEnd >= 0 && destEnd >= from) {
      out += text.slice(from, destEnd)
      from = titleEnd
      q = text.indexOf('](', titleEnd)
    } else {
      q = text.indexOf('](', q + 2)
    }
  }
  return out + text.slice(from)
}

/**
 * Remove everything in an issue's text that GitHub doesn't render, or renders
 * only as a tooltip, so that instructions a reader of the issue can't see
 * never reach the agent (see the top of this file for the what and why).
 * Linear in the text's length.
 */
export function stripHiddenText(text: string): string {
  return stripLinkTitles(stripHtml(stripInvisible(text)).replace(LINK_DEFINITION, '$1'))
}
