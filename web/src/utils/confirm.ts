import { ElMessageBox, type ElMessageBoxOptions } from 'element-plus'
import { i18n } from '@/i18n'

/**
 * Asks before a step that cannot be taken back, in a warning box with a cancel button: true when
 * the user confirmed, false when they cancelled or closed the box.
 */
export async function confirmWarning(
  message: string,
  title: string,
  confirmButtonText: string,
  more: ElMessageBoxOptions = {},
): Promise<boolean> {
  try {
    await ElMessageBox.confirm(message, title, {
      type: 'warning',
      confirmButtonText,
      cancelButtonText: i18n.global.t('common.cancel'),
      ...more,
    })
    return true
  } catch {
    return false
  }
}
