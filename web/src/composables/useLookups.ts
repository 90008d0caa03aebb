import { ref, shallowRef } from 'vue'
import { api, getAll, type Page } from '@/api/client'
import type { Store, Tier } from '@/api/types'
import { i18n } from '@/i18n'

/**
 * Every store, loaded once per page (none, without asking, when `allowed()` says the caller may
 * not read them; none either when the API refuses); `storeName(id)` and `storesText(ids)` for
 * tables.
 */
export function useStoreList(allowed: () => boolean = () => true) {
  const stores = shallowRef<Store[]>([])
  const loaded = ref(false)
  async function load() {
    try {
      stores.value = allowed() ? await getAll<Store>('/stores') : []
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
  /** The stores a coupon, promotion or staff member is limited to; none means every store. */
  function storesText(ids: number[]): string {
    return ids.length ? ids.map(storeName).join('、') : i18n.global.t('admin.everyStore')
  }
  return { stores, loaded, load, storeName, storesText }
}

/** Every tier (never paged); none when `allowed()` says no, or the API refuses. */
export function useTierList(allowed: () => boolean = () => true) {
  const tiers = shallowRef<Tier[]>([])
  async function load() {
    try {
      tiers.value = allowed() ? (await api.get<Page<Tier>>('/tiers', { limit: 500 })).items : []
    } catch {
      tiers.value = []
    }
  }
  function tierName(id: number): string {
    return tiers.value.find((x) => x.id === id)?.name ?? `#${id}`
  }
  return { tiers, load, tierName }
}
