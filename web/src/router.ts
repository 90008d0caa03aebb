import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { useSession } from '@/stores/session'

// perm: the permission a page needs (from GET /me); the menu hides what the user cannot open,
// and the API refuses it anyway.
declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean
    perm?: string
  }
}

const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('@/pages/LoginPage.vue'), meta: { public: true } },
  {
    path: '/',
    component: () => import('@/components/AppLayout.vue'),
    children: [
      { path: '', name: 'dashboard', component: () => import('@/pages/DashboardPage.vue') },
      { path: 'cashier', name: 'cashier', component: () => import('@/pages/cashier/CashierPage.vue'), meta: { perm: 'checkout' } },
      { path: 'orders', name: 'orders', component: () => import('@/pages/orders/OrdersPage.vue'), meta: { perm: 'orders.read' } },
      { path: 'orders/:id', name: 'order', component: () => import('@/pages/orders/OrderPage.vue'), meta: { perm: 'orders.read' } },
      { path: 'members', name: 'members', component: () => import('@/pages/members/MembersPage.vue'), meta: { perm: 'members.read' } },
      { path: 'members/new', name: 'member-new', component: () => import('@/pages/members/MemberEditPage.vue'), meta: { perm: 'members.write' } },
      { path: 'members/:id', name: 'member', component: () => import('@/pages/members/MemberPage.vue'), meta: { perm: 'members.read' } },
      { path: 'members/:id/edit', name: 'member-edit', component: () => import('@/pages/members/MemberEditPage.vue'), meta: { perm: 'members.write' } },
      { path: 'products', name: 'products', component: () => import('@/pages/admin/ProductsPage.vue'), meta: { perm: 'products.read' } },
      { path: 'stock', name: 'stock', component: () => import('@/pages/admin/StockPage.vue'), meta: { perm: 'stock.read' } },
      { path: 'coupons', name: 'coupons', component: () => import('@/pages/admin/CouponsPage.vue'), meta: { perm: 'coupons.read' } },
      { path: 'promotions', name: 'promotions', component: () => import('@/pages/admin/PromotionsPage.vue'), meta: { perm: 'promotions.read' } },
      { path: 'points', name: 'points', component: () => import('@/pages/admin/PointsSettingsPage.vue'), meta: { perm: 'settings.read' } },
      { path: 'tiers', name: 'tiers', component: () => import('@/pages/admin/TiersPage.vue'), meta: { perm: 'tiers.read' } },
      { path: 'stores', name: 'stores', component: () => import('@/pages/admin/StoresPage.vue'), meta: { perm: 'stores.read' } },
      { path: 'staff', name: 'staff', component: () => import('@/pages/admin/StaffPage.vue'), meta: { perm: 'staff.manage' } },
      { path: 'roles', name: 'roles', component: () => import('@/pages/admin/RolesPage.vue'), meta: { perm: 'roles.manage' } },
      { path: 'api-keys', name: 'api-keys', component: () => import('@/pages/admin/ApiKeysPage.vue'), meta: { perm: 'api_keys.manage' } },
      { path: 'audit', name: 'audit', component: () => import('@/pages/admin/AuditPage.vue'), meta: { perm: 'audit.read' } },
      { path: 'security', name: 'security', component: () => import('@/pages/admin/SecurityPage.vue'), meta: { perm: 'settings.read' } },
      { path: 'account', name: 'account', component: () => import('@/pages/AccountPage.vue') },
      { path: ':rest(.*)*', name: 'not-found', component: () => import('@/pages/NotFoundPage.vue') },
    ],
  },
]

export const router = createRouter({ history: createWebHistory(), routes })

router.beforeEach(async (to) => {
  const session = useSession()
  if (!session.checked) await session.refresh()
  if (to.meta.public) return session.signedIn && to.name === 'login' ? { name: 'dashboard' } : true
  if (!session.signedIn) return { name: 'login', query: to.fullPath === '/' ? {} : { next: to.fullPath } }
  return true
})
