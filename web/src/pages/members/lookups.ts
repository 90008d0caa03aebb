import { api, getAll } from '@/api/client'
import type { StoreRow, Tier } from './types'

/** The stores by id, or an empty map when the caller may not read them. */
export async function loadStores(allowed: boolean): Promise<Map<number, StoreRow>> {
  if (!allowed) return new Map()
  try {
    const rows = await getAll<StoreRow>('/stores')
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
