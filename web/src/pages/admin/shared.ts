// What the admin pages (products, stock, loyalty rules, staff, roles, API keys...) share beyond
// the console-wide helpers: permissions and roles, PATCH bodies, copying with a message.
import { ElMessage } from 'element-plus'
import { i18n } from '@/i18n'
import { copyText } from '@/utils/browser'

const t = i18n.global.t

/** Every permission the API knows, in the order of the API's documentation, by area. */
export const PERMISSION_GROUPS: { area: string; perms: string[] }[] = [
  { area: 'stores', perms: ['stores.read', 'stores.write'] },
  { area: 'members', perms: ['members.read', 'members.write', 'members.pii', 'members.erase'] },
  { area: 'points', perms: ['points.read', 'points.adjust', 'settings.read', 'settings.write'] },
  { area: 'tiers', perms: ['tiers.read', 'tiers.write'] },
  { area: 'goods', perms: ['products.read', 'products.write', 'stock.read', 'stock.write'] },
  { area: 'marketing', perms: ['coupons.read', 'coupons.write', 'promotions.read', 'promotions.write'] },
  { area: 'sales', perms: ['checkout', 'refunds', 'orders.read'] },
  { area: 'admin', perms: ['staff.manage', 'roles.manage', 'api_keys.manage', 'audit.read', 'metrics.read'] },
]
export const ALL_PERMISSIONS = PERMISSION_GROUPS.flatMap((g) => g.perms)

/** The i18n key of a permission's label: 'members.pii' → 'admin.perm.members_pii'. */
export function permKey(p: string): string {
  return `admin.perm.${p.replace(/\./g, '_')}`
}

/** The roles the API builds in. */
export const BUILTIN_ROLES = ['owner', 'manager', 'cashier', 'auditor']

/** A role's name for people: the built-in ones translated, custom ones as they are. */
export function roleLabel(r: string): string {
  return BUILTIN_ROLES.includes(r) ? t(`admin.role.${r}`) : r
}

/** The fields of `body` whose values differ from `old`'s: what a PATCH has to send. */
export function changedFields(body: Record<string, unknown>, old: object): Record<string, unknown> {
  const before = old as Record<string, unknown>
  return Object.fromEntries(Object.entries(body).filter(([k, v]) => before[k] !== v))
}

/** Copies text to the clipboard and says whether that worked. */
export async function copyWithMessage(text: string) {
  if (await copyText(text)) ElMessage.success(t('admin.copied'))
  else ElMessage.warning(t('admin.copyFailed'))
}
