import { createI18n } from 'vue-i18n'

// Each area of the console keeps its strings in locales/<lang>/<area>.ts (a default-exported
// object); they are gathered here under the area's name, so `t('cashier.title')` reads
// locales/<lang>/cashier.ts. zh-CN is the default; tests/unit checks both have every key.
export const LANGUAGES = ['zh-CN', 'en'] as const
export type Language = (typeof LANGUAGES)[number]

type Tree = { [key: string]: string | Tree }

const modules = import.meta.glob<{ default: Tree }>('./locales/*/*.ts', { eager: true })

export function collectMessages(mods: Record<string, { default: Tree }>): Record<string, Tree> {
  const out: Record<string, Tree> = {}
  for (const [path, mod] of Object.entries(mods)) {
    const m = /locales\/([^/]+)\/([^/]+)\.ts$/.exec(path)
    if (!m) continue
    out[m[1]] ??= {}
    out[m[1]][m[2]] = mod.default
  }
  return out
}

export const messages = collectMessages(modules)

function initialLanguage(): Language {
  const saved = localStorage.getItem('patron.lang')
  if (saved === 'en' || saved === 'zh-CN') return saved
  return 'zh-CN'
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLanguage(),
  fallbackLocale: 'zh-CN',
  messages,
  missingWarn: false,
  fallbackWarn: false,
})

export function setLanguage(lang: Language) {
  i18n.global.locale.value = lang
  localStorage.setItem('patron.lang', lang)
  document.documentElement.lang = lang
}
