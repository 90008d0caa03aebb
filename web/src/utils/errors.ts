// Errors as people see them: the text of an error (an ApiError carries the API's message, in
// the console's language), and a message at the top of the screen for one that belongs to no
// field.
import { ElMessage } from 'element-plus'

/** An error (ApiError or other) as text for people. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

/** Shows an error that belongs to no field as a message at the top of the screen. */
export function toastError(e: unknown) {
  ElMessage.error({ message: errorText(e), grouping: true })
}
