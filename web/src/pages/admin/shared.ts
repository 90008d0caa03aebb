// Helpers shared by the admin pages (products, stock, loyalty rules, staff, audit...):
// paged lists, field-level API errors, exact conversions between basis points and the
// percentages / multipliers people type, times.
import { reactive, ref, shallowRef } from 'vue'
import { ElMessage } from 'element-plus'
import { api, ApiError, getAll, type Page } from '@/api/client'
import './admin.css'

type Query = Record<string, string | number | boolean | undefined | null>

/** An error (ApiError or other) as text for people. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError || e instanceof Error) return e.message
  return String(e)
}

/** Shows an error that belongs to no field as a message at the top of the screen. */
export function toastError(e: unknown) {
  ElMessage.error({ message: errorText(e), grouping: true })
}

/**
 * One list the API pages with limit + cursor: `reload()` fetches the first page, `more()`
 * the next one. A reload started while another runs wins (the older answer is dropped).
 */
export function usePaged<T>(path: () => string, query: () => Query = () => ({}), limit = 50) {
  const items = shallowRef<T[]>([])
  const cursor = ref<string | null>(null)
  const loading = ref(false)
  const loaded = ref(false)
  const error = ref('')
  let generation = 0

  async function fetchPage(reset: boolean) {
    const gen = reset ? ++generation : generation
    loading.value = true
    error.value = ''
    try {
      const page = await api.get<Page<T>>(path(), { ...query(), limit, cursor: reset ? undefined : cursor.value })
      if (gen !== generation) return
      items.value = reset ? page.items : [...items.value, ...page.items]
      cursor.value = page.next_cursor
      loaded.value = true
    } catch (e) {
      if (gen !== generation) return
      error.value = errorText(e)
      if (reset) items.value = []
    } finally {
      if (gen === generation) loading.value = false
    }
  }

  /** Replaces one item in place (after an edit) without reloading the list. */
  function replace(match: (x: T) => boolean, next: T) {
    items.value = items.value.map((x) => (match(x) ? next : x))
  }

  return {
    items,
    cursor,
    loading,
    loaded,
    error,
    replace,
    reload: () => fetchPage(true),
    more: () => (cursor.value ? fetchPage(false) : Promise.resolve()),
  }
}

/**
 * Field-level errors of one form: `errors.x` feeds `<el-form-item :error="errors.x">`.
 * `fail(e)` puts an API error next to its field when the form shows that field (a field such
 * as `levels[1]` or `member_ids[0]` counts as `levels` / `member_ids` unless the exact name is
 * listed), else shows it as a message. Returns true when it went next to a field.
 */
export function useFieldErrors(fields: readonly string[]) {
  const errors = reactive<Record<string, string>>(Object.fromEntries(fields.map((f) => [f, ''])))
  function clear() {
    for (const f of Object.keys(errors)) errors[f] = ''
  }
  function set(field: string, message: string) {
    errors[field] = message
  }
  function fieldOf(name: string): string | null {
    if (name in errors) return name
    const base = name.replace(/\[\d+\].*$/, '')
    if (base in errors) return base
    return null
  }
  function fail(e: unknown): boolean {
    if (e instanceof ApiError && e.field) {
      const f = fieldOf(e.field)
      if (f) {
        errors[f] = e.message
        return true
      }
    }
    toastError(e)
    return false
  }
  function any(): boolean {
    return Object.values(errors).some((v) => !!v)
  }
  return { errors, clear, set, fail, any }
}

// ---- numbers -------------------------------------------------------------------------------

/** "123" → 123; anything but a whole number (optionally signed) → null. */
export function parseIntText(text: string, { signed = false } = {}): number | null {
  const s = text.trim().replace(/,/g, '')
  if (!(signed ? /^[+-]?\d{1,15}$/ : /^\d{1,15}$/).test(s)) return null
  const n = Number(s)
  return Number.isSafeInteger(n) ? n : null
}

/** A decimal text with at most `places` decimals → that number × 10^places, exactly. */
function scaledInt(text: string, places: number): number | null {
  const s = text.trim().replace(/[%×xX倍]$/, '').trim()
  const m = new RegExp(`^(\\d{1,9})(?:\\.(\\d{0,${places}}))?$`).exec(s)
  if (!m) return null
  const n = Number(m[1]) * 10 ** places + Number((m[2] ?? '').padEnd(places, '0') || '0')
  return Number.isSafeInteger(n) ? n : null
}

function unscaled(n: number, places: number): string {
  const sign = n < 0 ? '-' : ''
  const abs = Math.abs(n)
  const div = 10 ** places
  const whole = Math.floor(abs / div)
  const frac = String(abs % div).padStart(places, '0').replace(/0+$/, '')
  return frac ? `${sign}${whole}.${frac}` : `${sign}${whole}`
}

/** "95" / "12.5" / "12.34%" → basis points (9500 / 1250 / 1234); null when not such a number. */
export function percentToBp(text: string): number | null {
  return scaledInt(text, 2)
}

/** 9500 → "95", 1250 → "12.5" (for an input). */
export function bpToPercentText(bp: number): string {
  return unscaled(bp, 2)
}

/** "1.5" / "2×" / "1.25" → basis points of a multiplier (15000 / 20000 / 12500). */
export function multiplierToBp(text: string): number | null {
  return scaledInt(text, 4)
}

/** 15000 → "1.5" (for an input). */
export function bpToMultiplierText(bp: number): string {
  return unscaled(bp, 4)
}

/** 15000 → "1.5×". */
export function formatMultiplier(bp: number | null | undefined): string {
  return bp === null || bp === undefined ? '—' : `${unscaled(bp, 4)}×`
}

/** 9500 → "9.5" (折), 9000 → "9", 8850 → "8.85". */
export function bpToZhe(bp: number): string {
  return unscaled(bp, 3)
}

/** Fen → "12.50" without thousands separators (for an input). */
export function fenToInput(fen: number | null | undefined): string {
  if (fen === null || fen === undefined) return ''
  const abs = Math.abs(fen)
  return `${fen < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

// ---- times ---------------------------------------------------------------------------------

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** An RFC 3339 time → "2026-11-23 16:05" in the browser's time zone. */
export function formatTime(iso: string | null | undefined, seconds = false): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`
  return seconds ? `${s}:${pad(d.getSeconds())}` : s
}

/** A Date (from a date picker) → RFC 3339 UTC, or undefined. */
export function toIso(d: Date | string | null | undefined): string | undefined {
  if (!d) return undefined
  const x = d instanceof Date ? d : new Date(d)
  return Number.isNaN(x.getTime()) ? undefined : x.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

// ---- small shared lookups --------------------------------------------------------------------

export interface Store {
  id: number
  code: string
  name: string
  address: string | null
  phone: string | null
  created_at: string
  updated_at: string
}

export interface Tier {
  id: number
  name: string
  rank: number
  threshold: number
  basis: 'lifetime' | 'rolling_12m'
  discount_bp: number
  points_multiplier_bp: number
  created_at: string
  updated_at: string
}

/** Every store, loaded once per page; `storeName(id)` for tables. */
export function useStoreList() {
  const stores = shallowRef<Store[]>([])
  const loaded = ref(false)
  async function load() {
    try {
      stores.value = await getAll<Store>('/stores')
    } catch {
      stores.value = []
    } finally {
      loaded.value = true
    }
  }
  function storeName(id: number | null | undefined): string {
    if (id === null || id === undefined) return '—'
    return stores.value.find((s) => s.id === id)?.name ?? `#${id}`
  }
  return { stores, loaded, load, storeName }
}

/** Every tier (never paged). */
export function useTierList() {
  const tiers = shallowRef<Tier[]>([])
  async function load() {
    try {
      tiers.value = (await api.get<Page<Tier>>('/tiers')).items
    } catch {
      tiers.value = []
    }
  }
  function tierName(id: number): string {
    return tiers.value.find((x) => x.id === id)?.name ?? `#${id}`
  }
  return { tiers, load, tierName }
}

/** Every permission the API knows, in the order of the API's documentation, by area. */
export const PERMISSION_GROUPS: { area: string; perms: string[] }[] = [
  { area: 'stores', perms: ['stores.read', 'stores.write'] },
  { area: 'members', perms: ['members.read', 'members.write', 'members.pii', 'members.erase'] },
  { area: 'points', perms: ['points.read', 'points.adjust', 'settings.read', 'settings.write'] },
  { area: 'tiers', perms: ['tiers.read', 'tiers.write'] },
  { area: 'goods', perms: ['products.read', 'products.write', 'stock.read', 'stock.write'] },
  { area: 'marketing', perms: ['coupons.read', 'coupons.write', 'promotions.read', 'promotions.write'] },
  { area: 'sales', perms: ['checkout', 'refunds', 'orders.read'] },
  { area: 'admin', perms: ['staff.manage', 'roles.manage', 'api_keys.manage', 'audit.read', 'metrics.read'] },
]
export const ALL_PERMISSIONS = PERMISSION_GROUPS.flatMap((g) => g.perms)

/** The i18n key of a permission's label: 'members.pii' → 'admin.perm.members_pii'. */
export function permKey(p: string): string {
  return `admin.perm.${p.replace(/\./g, '_')}`
}

/** The roles the API builds in. */
export const BUILTIN_ROLES = ['owner', 'manager', 'cashier', 'auditor']

/** Copies text to the clipboard; falls back to a hidden textarea where the API is missing. */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text)
      return true
    }
  } catch {
    /* fall through */
  }
  const ta = document.createElement('textarea')
  ta.value = text
  ta.setAttribute('readonly', '')
  ta.style.position = 'fixed'
  ta.style.opacity = '0'
  document.body.appendChild(ta)
  ta.select()
  let ok = false
  try {
    ok = document.execCommand('copy')
  } catch {
    ok = false
  }
  document.body.removeChild(ta)
  return ok
}
