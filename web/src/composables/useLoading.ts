import { ref } from 'vue'
import { errorText } from '@/utils/errors'

/** A load with its state: `run(task)` is `loading` while it runs and puts its failure, as text, in `error`. */
export function useLoading(initially = false) {
  const loading = ref(initially)
  const error = ref('')
  async function run(task: () => Promise<void>) {
    loading.value = true
    error.value = ''
    try {
      await task()
    } catch (e) {
      error.value = errorText(e)
    } finally {
      loading.value = false
    }
  }
  return { loading, error, run }
}
