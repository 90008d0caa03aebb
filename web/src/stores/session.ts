import { defineStore } from 'pinia'
import { api, setCsrfToken } from '@/api/client'

export interface User {
  id: number
  username: string
  role: string
  totp_enabled: boolean
  created_at: string
}

interface Me {
  user: User | null
  permissions: string[]
  csrf_token: string | null
}

export const useSession = defineStore('session', {
  state: () => ({
    user: null as User | null,
    permissions: [] as string[],
    checked: false,
  }),
  getters: {
    signedIn: (s) => s.user !== null,
  },
  actions: {
    can(permission: string): boolean {
      return this.permissions.includes(permission)
    },
    async refresh(): Promise<boolean> {
      try {
        const me = await api.get<Me>('/me')
        this.user = me.user
        this.permissions = me.permissions
        setCsrfToken(me.csrf_token)
      } catch {
        this.user = null
        this.permissions = []
        setCsrfToken(null)
      }
      this.checked = true
      return this.user !== null
    },
    async login(username: string, password: string, totp?: string) {
      const body: Record<string, string> = { username, password }
      if (totp) body.totp = totp
      const r = await api.post<{ user: User; csrf_token: string }>('/auth/login', body)
      setCsrfToken(r.csrf_token)
      await this.refresh()
    },
    async logout() {
      try {
        await api.post('/auth/logout')
      } finally {
        this.user = null
        this.permissions = []
        setCsrfToken(null)
      }
    },
    forget() {
      this.user = null
      this.permissions = []
      setCsrfToken(null)
    },
  },
})
