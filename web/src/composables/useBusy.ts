import { ref } from 'vue'
import { errorText } from '@/utils/errors'

/** A request in flight: `submit(task)` is `busy` while the task runs and hands its failure to `onError`. */
export function useSubmit(onError: (e: unknown) => unknown, initiallyBusy = false) {
  const busy = ref(initiallyBusy)
  async function submit(task: () => Promise<void>) {
    busy.value = true
    try {
      await task()
    } catch (e) {
      onError(e)
    } finally {
      busy.value = false
    }
  }
  return { busy, submit }
}

/** A load with its state: `run(task)` is `loading` while it runs and puts its failure, as text, in `error`. */
export function useLoading(initially = false) {
  const error = ref('')
  const { busy: loading, submit } = useSubmit((e) => (error.value = errorText(e)), initially)
  function run(task: () => Promise<void>) {
    error.value = ''
    return submit(task)
  }
  return { loading, error, run }
}
