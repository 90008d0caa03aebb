// The console's one way to call the API: same-origin fetch with the session cookie, the
// session's CSRF token on changes, the UI language for error messages, and the API's error
// body turned into an ApiError that pages show (next to the field when it names one).

export interface ApiErrorBody {
  error: { code: string; message: string; field?: string }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly retryAfter?: number,
  ) {
    super(message)
  }
}

export interface Page<T> {
  items: T[]
  next_cursor: string | null
}

type Query = Record<string, string | number | boolean | undefined | null>

interface Options {
  query?: Query
  idempotencyKey?: string
}

let csrfToken: string | null = null
let language = 'zh-CN'
let onUnauthenticated: () => void = () => {}

export function setCsrfToken(token: string | null) {
  csrfToken = token
}
export function setApiLanguage(lang: string) {
  language = lang
}
export function setUnauthenticatedHandler(fn: () => void) {
  onUnauthenticated = fn
}

export function buildQuery(query?: Query): string {
  if (!query) return ''
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== null && v !== '') p.set(k, String(v))
  const s = p.toString()
  return s ? `?${s}` : ''
}

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  opts: Options = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', 'Accept-Language': language }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken
  if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey
  let res: Response
  try {
    res = await fetch(`/api/v1${path}${buildQuery(opts.query)}`, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch {
    throw new ApiError(0, 'network', language === 'en' ? 'Cannot reach the server' : '无法连接服务器')
  }
  if (res.status === 204) return undefined as T
  const text = await res.text()
  let data: unknown = null
  try {
    data = text ? JSON.parse(text) : null
  } catch {
    data = null
  }
  if (!res.ok) {
    const e = (data as ApiErrorBody | null)?.error
    const retry = Number(res.headers.get('Retry-After') ?? '') || undefined
    const err = new ApiError(res.status, e?.code ?? 'internal', e?.message ?? res.statusText, e?.field, retry)
    // /me is how the console asks whether anyone is signed in: its 401 is an answer, not an
    // expired session.
    if (res.status === 401 && path !== '/auth/login' && path !== '/me') onUnauthenticated()
    throw err
  }
  return data as T
}

export const api = {
  get: <T>(path: string, query?: Query) => request<T>('GET', path, undefined, { query }),
  post: <T>(path: string, body?: unknown, opts?: Options) => request<T>('POST', path, body ?? {}, opts),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  del: <T>(path: string) => request<T>('DELETE', path),
}

/**
 * The items of a list, following next_cursor for at most `maxPages` pages of `limit` items;
 * `truncated` when the list went on beyond them.
 */
export async function getPages<T>(
  path: string,
  query: Query = {},
  { limit = 500, maxPages = 20 } = {},
): Promise<{ items: T[]; truncated: boolean }> {
  const items: T[] = []
  let cursor: string | null = null
  for (let i = 0; i < maxPages; i++) {
    const page: Page<T> = await api.get<Page<T>>(path, { ...query, limit, cursor })
    items.push(...page.items)
    cursor = page.next_cursor
    if (!cursor) break
  }
  return { items, truncated: cursor !== null }
}

/** Every item of a list, following next_cursor (bounded, for small lists such as stores). */
export async function getAll<T>(path: string, query: Query = {}, maxPages = 20): Promise<T[]> {
  return (await getPages<T>(path, query, { maxPages })).items
}

/** A new idempotency key: generated once per sale (or per change) and reused on retries. */
export function newIdempotencyKey(prefix = 'console'): string {
  const bytes = new Uint8Array(16)
  crypto.getRandomValues(bytes)
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`
}
