// Helpers for the i18n completeness test: the leaf keys of a locale tree, and the keys that
// source text names in t('…') / $t('…') / keypath="…" / nav.ts `label: '…'`.

export type Tree = { [key: string]: unknown }

/** Every leaf of a nested message object as 'a.b.c' → value. */
export function leaves(tree: unknown, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>()
  if (tree === null || typeof tree !== 'object' || Array.isArray(tree)) {
    out.set(prefix, tree)
    return out
  }
  for (const [k, v] of Object.entries(tree as Tree)) {
    const key = prefix ? `${prefix}.${k}` : k
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) for (const [kk, vv] of leaves(v, key)) out.set(kk, vv)
    else out.set(key, v)
  }
  return out
}

/** { lang: { area: tree } } from import.meta.glob('…/locales/*\/*.ts') results. */
export function byLanguage(mods: Record<string, { default: unknown }>): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {}
  for (const [path, mod] of Object.entries(mods)) {
    const m = /locales\/([^/]+)\/([^/]+)\.ts$/.exec(path)
    if (!m) continue
    out[m[1]] ??= {}
    out[m[1]][m[2]] = mod.default
  }
  return out
}

/** Keys present on one side only: [missing from b, missing from a]. */
export function keyDiff(a: Iterable<string>, b: Iterable<string>): [string[], string[]] {
  const sa = new Set(a)
  const sb = new Set(b)
  return [[...sa].filter((k) => !sb.has(k)).sort(), [...sb].filter((k) => !sa.has(k)).sort()]
}

/** The named placeholders of a message: '{name} has {n}' → ['n', 'name']. */
export function placeholders(message: string): string[] {
  return [...new Set([...message.matchAll(/\{\s*([A-Za-z_][\w]*)\s*\}/g)].map((m) => m[1]))].sort()
}

const CALL = /(?<![\w$])\$?t[ce]?\(\s*(['"`])((?:(?!\1)[^\\\n])*)\1/g
const KEYPATH = /\bkeypath\s*=\s*"([^"]+)"/g
const LABEL = /\blabel\s*:\s*(['"])([^'"]+)\1/g

/** Source without block, HTML and line comments (a // after ':' or a quote is kept: URLs). */
export function stripComments(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/(^|[^:'"`\\\w])\/\/.*$/gm, '$1')
}

/**
 * Keys a source file names literally. Template literals with ${…} and keys built by
 * concatenation ('a.' + x, ending in a dot) cannot be checked statically and are left out.
 */
export function usedKeys(text: string, opts: { labels?: boolean } = {}): string[] {
  const source = stripComments(text)
  const keys = new Set<string>()
  for (const m of source.matchAll(CALL)) keys.add(m[2])
  for (const m of source.matchAll(KEYPATH)) keys.add(m[1])
  if (opts.labels) for (const m of source.matchAll(LABEL)) keys.add(m[2])
  return [...keys].filter((k) => k !== '' && !k.includes('${') && !k.endsWith('.')).sort()
}
