import { ref, type Ref } from 'vue'

/**
 * A dialog over a reactive form: `open(item, values)` fills the form, clears its errors and
 * shows the dialog; `editing` is the item it edits (null for a new one).
 */
export function useEditDialog<T, F extends object>(form: F, clearErrors: () => void) {
  const dialog = ref(false)
  const editing = ref(null) as Ref<T | null>
  function open(item: T | null, values: Partial<F>) {
    editing.value = item
    Object.assign(form, values)
    clearErrors()
    dialog.value = true
  }
  return { dialog, editing, open }
}
