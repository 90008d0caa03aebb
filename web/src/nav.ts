// The console's menu, grouped; each entry shows only to staff holding its permission.
export interface NavItem {
  to: string
  label: string // i18n key
  perm?: string
}
export interface NavGroup {
  label: string
  items: NavItem[]
}

export const NAV: NavGroup[] = [
  {
    label: 'nav.groups.sell',
    items: [
      { to: '/', label: 'nav.dashboard' },
      { to: '/cashier', label: 'nav.cashier', perm: 'checkout' },
      { to: '/orders', label: 'nav.orders', perm: 'orders.read' },
      { to: '/members', label: 'nav.members', perm: 'members.read' },
    ],
  },
  {
    label: 'nav.groups.goods',
    items: [
      { to: '/products', label: 'nav.products', perm: 'products.read' },
      { to: '/stock', label: 'nav.stock', perm: 'stock.read' },
      { to: '/coupons', label: 'nav.coupons', perm: 'coupons.read' },
      { to: '/promotions', label: 'nav.promotions', perm: 'promotions.read' },
    ],
  },
  {
    label: 'nav.groups.loyalty',
    items: [
      { to: '/points', label: 'nav.points', perm: 'settings.read' },
      { to: '/tiers', label: 'nav.tiers', perm: 'tiers.read' },
    ],
  },
  {
    label: 'nav.groups.admin',
    items: [
      { to: '/stores', label: 'nav.stores', perm: 'stores.read' },
      { to: '/staff', label: 'nav.staff', perm: 'staff.manage' },
      { to: '/roles', label: 'nav.roles', perm: 'roles.manage' },
      { to: '/api-keys', label: 'nav.apiKeys', perm: 'api_keys.manage' },
      { to: '/security', label: 'nav.security', perm: 'settings.read' },
      { to: '/audit', label: 'nav.audit', perm: 'audit.read' },
    ],
  },
]
