import { ref, shallowRef } from 'vue'
import { api, type Page } from '@/api/client'
import { errorText } from '@/utils/errors'

type Query = Record<string, string | number | boolean | undefined | null>

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
