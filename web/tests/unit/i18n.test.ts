import { describe, expect, it, vi } from 'vitest'
import { createI18n } from 'vue-i18n'
import { byLanguage, keyDiff, leaves, placeholders, usedKeys } from './i18n-keys'

// Every locale file, and the text of every source file that may name a key.
const localeModules = import.meta.glob<{ default: unknown }>('../../src/locales/*/*.ts', { eager: true })
const sources = import.meta.glob<string>(['../../src/**/*.vue', '../../src/**/*.ts', '!../../src/locales/**'], {
  query: '?raw',
  import: 'default',
  eager: true,
})

const LANGS = ['zh-CN', 'en']
const locales = byLanguage(localeModules)
const areas = [...new Set(LANGS.flatMap((l) => Object.keys(locales[l] ?? {})))].sort()
/** lang → 'area.key.path' → message */
const flat: Record<string, Map<string, unknown>> = Object.fromEntries(
  LANGS.map((l) => [l, leaves(locales[l] ?? {})]),
)

describe('locale files', () => {
  it('both languages exist, with the same area files', () => {
    expect(Object.keys(locales).sort()).toEqual([...LANGS].sort())
    const [onlyZh, onlyEn] = keyDiff(Object.keys(locales['zh-CN']), Object.keys(locales.en))
    expect(onlyZh, 'area files only in zh-CN').toEqual([])
    expect(onlyEn, 'area files only in en').toEqual([])
    expect(areas.length).toBeGreaterThan(0)
  })

  for (const area of areas) {
    describe(area, () => {
      const zh = leaves(locales['zh-CN']?.[area] ?? {}, area)
      const en = leaves(locales.en?.[area] ?? {}, area)

      it('zh-CN and en have exactly the same keys', () => {
        const [missingInEn, missingInZh] = keyDiff(zh.keys(), en.keys())
        expect(missingInEn, `keys in zh-CN/${area}.ts missing from en/${area}.ts`).toEqual([])
        expect(missingInZh, `keys in en/${area}.ts missing from zh-CN/${area}.ts`).toEqual([])
      })

      it('every message is a non-empty string', () => {
        const bad: string[] = []
        for (const [lang, m] of [['zh-CN', zh], ['en', en]] as const)
          for (const [k, v] of m) if (typeof v !== 'string' || v.trim() === '') bad.push(`${lang}: ${k} = ${JSON.stringify(v)}`)
        expect(bad).toEqual([])
      })

      it('the same placeholders in both languages', () => {
        const bad: string[] = []
        for (const [k, v] of zh) {
          const w = en.get(k)
          if (typeof v !== 'string' || typeof w !== 'string') continue
          const a = placeholders(v).join(',')
          const b = placeholders(w).join(',')
          if (a !== b) bad.push(`${k}: zh-CN {${a}} vs en {${b}}`)
        }
        expect(bad).toEqual([])
      })
    })
  }

  it('every message compiles in vue-i18n and renders without errors', () => {
    const errors: string[] = []
    // vue-i18n reports a message it cannot compile (a stray '{', '@' or '|') on the console.
    let current = ''
    const report = (...args: unknown[]) => errors.push(`${current}: ${args.map(String).join(' ')}`)
    const warn = vi.spyOn(console, 'warn').mockImplementation(report)
    const error = vi.spyOn(console, 'error').mockImplementation(report)
    for (const lang of LANGS) {
      // Loosely typed: vue-i18n's types of a whole message tree are too deep for tsc.
      const options: Record<string, unknown> = {
        legacy: false,
        locale: lang,
        messages: { [lang]: locales[lang] },
        missingWarn: false,
        fallbackWarn: false,
        warnHtmlMessage: false,
      }
      const i18n = createI18n(options) as unknown as { global: { t: (k: string, p: object) => string } }
      for (const [k, v] of flat[lang]) {
        if (typeof v !== 'string') continue
        const params = Object.fromEntries(placeholders(v).map((p) => [p, 1]))
        current = `${lang}: ${k} = ${JSON.stringify(v)}`
        try {
          const out = i18n.global.t(k, params)
          if (out === k || out === '') errors.push(`${lang}: ${k} renders as ${JSON.stringify(out)}`)
        } catch (e) {
          errors.push(`${lang}: ${k}: ${(e as Error).message}`)
        }
      }
    }
    warn.mockRestore()
    error.mockRestore()
    expect(errors).toEqual([])
  })
})

describe('keys used in the source', () => {
  const used = new Map<string, string[]>() // key → files
  for (const [path, text] of Object.entries(sources)) {
    const file = path.replace(/^(\.\.\/)+/, 'web/')
    for (const k of usedKeys(text, { labels: /\/nav\.ts$/.test(path) })) used.set(k, [...(used.get(k) ?? []), file])
  }

  it('the scan finds the keys (sanity)', () => {
    expect(Object.keys(sources).length).toBeGreaterThan(5)
    expect(used.has('login.submit')).toBe(true)
    expect(used.has('nav.cashier')).toBe(true)
  })

  for (const lang of LANGS) {
    it(`every t('…') key exists in ${lang} as a message`, () => {
      const missing = [...used]
        .filter(([k]) => typeof flat[lang].get(k) !== 'string')
        .map(([k, files]) => `${k} (${files.join(', ')})`)
      expect(missing, `keys used but missing from locales/${lang}`).toEqual([])
    })
  }
})

// The checks above must catch a missing key: the helpers on made-up input.
describe('the checker itself', () => {
  it('finds a key missing from one language', () => {
    const zh = leaves({ a: { b: '一', c: '二' }, d: '三' }, 'x')
    const en = leaves({ a: { b: 'one' }, d: 'three', e: 'extra' }, 'x')
    expect(keyDiff(zh.keys(), en.keys())).toEqual([['x.a.c'], ['x.e']])
  })
  it('finds keys in source text', () => {
    const src = `
      <span>{{ t('cashier.title') }}</span> <b :title="$t(&quot;x&quot;)">{{ $t("cashier.total", { n: 1 }) }}</b>
      const s = i18n.global.t(\`orders.refund\`); tc('members.count', 2); te('members.x')
      t('members.status.' + s); t(\`members.\${k}\`); format('not.a.key'); split('t'); at('x.y')
      <i18n-t keypath="login.hint" />
      // t('comment.key') /* t('block.key') */ <!-- {{ t('html.key') }} -->
      const u = 'http://x/'; t('after.url')`
    expect(usedKeys(src)).toEqual(['cashier.title', 'cashier.total', 'login.hint', 'members.count', 'members.x', 'orders.refund', 'after.url'].sort())
    expect(usedKeys(`{ to: '/', label: 'nav.dashboard' }`, { labels: true })).toEqual(['nav.dashboard'])
  })
  it('compares placeholders', () => {
    expect(placeholders('{name} 有 {points} 积分')).toEqual(['name', 'points'])
    expect(placeholders('{ points } points for {name}')).toEqual(['name', 'points'])
  })
})
