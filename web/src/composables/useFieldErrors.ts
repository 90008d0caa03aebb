import { reactive } from 'vue'
import { ApiError } from '@/api/client'
import { toastError } from '@/utils/errors'

/**
 * Puts an API error next to its field: when `e` is an ApiError whose `field` is one of `fields`
 * (by default, every field `errors` has), its message goes to `errors[field]`. Returns true when
 * it did; the caller shows any other error its own way.
 */
export function putFieldError(errors: Record<string, string>, e: unknown, fields: readonly string[] = Object.keys(errors)): boolean {
  if (!(e instanceof ApiError) || !e.field || !fields.includes(e.field)) return false
  errors[e.field] = e.message
  return true
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
