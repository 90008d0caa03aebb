import { ref, shallowRef } from 'vue'
import { api, ApiError, type Page } from '@/api/client'

type Query = Record<string, string | number | boolean | undefined | null>

/**
 * One list the API pages with limit + cursor: `reload()` fetches the first page, `more()`
 * the next one. A reload started while another is running wins (the older answer is dropped).
 */
export function usePaged<T>(path: () => string, query: () => Query = () => ({}), limit = 20) {
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
      const page = await api.get<Page<T>>(path(), {
        ...query(),
        limit,
        cursor: reset ? undefined : cursor.value,
      })
      if (gen !== generation) return
      items.value = reset ? page.items : [...items.value, ...page.items]
      cursor.value = page.next_cursor
      loaded.value = true
    } catch (e) {
      if (gen !== generation) return
      error.value = e instanceof ApiError || e instanceof Error ? e.message : String(e)
      if (reset) items.value = []
    } finally {
      if (gen === generation) loading.value = false
    }
  }

  return {
    items,
    cursor,
    loading,
    loaded,
    error,
    reload: () => fetchPage(true),
    more: () => (cursor.value ? fetchPage(false) : Promise.resolve()),
  }
}
