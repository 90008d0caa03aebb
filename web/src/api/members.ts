import { ApiError, api, type Page } from '@/api/client'
import type { MemberBrief } from '@/api/types'
import type { MemberStep } from '@/utils/scan'

export interface MembersFound {
  /** The one member the plan found. */
  member?: MemberBrief
  /** Several members a search matched, to choose from. */
  choices?: MemberBrief[]
  /** The API's word on the first mistyped card number or member code (400), if any. */
  mistyped: string
}

/**
 * Follows a look-up plan (memberLookupPlan in utils/scan) until a step finds someone. A step
 * the API answers with 404 (nobody) or 400 (not such a number or code) moves on to the next one;
 * any other error is thrown. Neither `member` nor `choices`: nobody matched.
 */
export async function findMembers(plan: MemberStep[]): Promise<MembersFound> {
  let mistyped = ''
  for (const step of plan) {
    try {
      if (step.kind === 'lookup') {
        return { member: await api.get<MemberBrief>('/members/lookup', { [step.param]: step.value }), mistyped }
      }
      const page = await api.get<Page<MemberBrief>>('/members', { q: step.q, limit: 20 })
      if (page.items.length === 1) return { member: page.items[0], mistyped }
      if (page.items.length > 1) return { choices: page.items, mistyped }
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) continue
      if (e instanceof ApiError && e.status === 400) {
        if (!mistyped && (e.field === 'card_no' || e.field === 'code')) mistyped = e.message
        continue
      }
      throw e
    }
  }
  return { mistyped }
}
