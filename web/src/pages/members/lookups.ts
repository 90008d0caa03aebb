import { ref } from 'vue'
import { api, getAll } from '@/api/client'
import type { Store, Tier } from '@/api/types'
import { useSession } from '@/stores/session'

/** The stores by id, or an empty map when the caller may not read them. */
export async function loadStores(allowed: boolean): Promise<Map<number, Store>> {
  if (!allowed) return new Map()
  try {
    const rows = await getAll<Store>('/stores')
    return new Map(rows.map((s) => [s.id, s]))
  } catch {
    return new Map()
  }
}

/** The tiers by rank, or none when the caller may not read them. */
export async function loadTiers(allowed: boolean): Promise<Tier[]> {
  if (!allowed) return []
  try {
    return (await api.get<{ items: Tier[] }>('/tiers')).items
  } catch {
    return []
  }
}

/** The stores and tiers the member pages name and filter by, as far as the caller may read them. */
export function useStoresAndTiers() {
  const session = useSession()
  const stores = ref(new Map<number, Store>())
  const tiers = ref<Tier[]>([])
  async function load() {
    const [s, tr] = await Promise.all([loadStores(session.can('stores.read')), loadTiers(session.can('tiers.read'))])
    stores.value = s
    tiers.value = tr
  }
  function storeName(id: number | null): string {
    if (id === null) return '—'
    return stores.value.get(id)?.name ?? `#${id}`
  }
  return { stores, tiers, load, storeName }
}
