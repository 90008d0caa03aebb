#!/usr/bin/env node
// End-to-end test of the console, driving Debian's Chromium (headless) with playwright-core
// against a real `patron serve` that has the console built in.
//
//   node web/tests/e2e/run.mjs --patron build/patron           the test scenarios
//   node web/tests/e2e/run.mjs --patron build/patron --screenshots docs/img
//                                                               the README screenshots (demo data)
// Options:
//   --url URL        drive the console at URL instead of the server's own (e.g. a Vite dev server
//                    that proxies /api to --port); the API is still the server started here
//   --port N         serve on this port (default: a free one)
//   --only a,b       run only these scenarios (the ones they depend on still set up the data)
//   --chromium PATH  browser executable (default /usr/bin/chromium, or $PATRON_E2E_CHROMIUM)
//   --keep           keep the temporary directory (database, server log)
//   --headed         show the browser (needs a display)
//
// Scenarios (each counted once), on a fresh SQLite database with `patron staff add` making the
// cashier:
//   login-wrong-password   the error on the sign-in page, in Chinese, then in English
//   owner-setup            the owner makes a store, points rules, a tier, three products with
//                          barcodes, their stock, a member (form) and a coupon issued to them
//   cashier-sale           the cashier finds the member by phone, scans three barcodes (typed
//                          into the item input + Enter, as a keyboard-wedge scanner does),
//                          applies the coupon, redeems points, commits: at most 10 actions, and
//                          the member page shows the API's balance = before + earned − redeemed
//   order-partial-refund   one unit refunded from the order page; balance + returned − taken back
//   cashier-sale-english   the same sale after the language switch
//   cashier-sale-phone     the same sale at 375×812 (menu drawer; no sideways scrolling)
// When the owner scenario fails, the data the others need is made through the API.
// A failed step saves web/test-results/<scenario>-<step>.png.
// The last line is "e2e: N passed, M failed"; the exit code is non-zero when anything failed.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const RESULTS = join(WEB, 'test-results')
const RUN_DEADLINE_MS = 170_000 // the whole run, server start to stop
const SCENARIO_MS = 60_000
const STEP_MS = 10_000 // default wait for one element or answer
const MAX_SALE_ACTIONS = 10

const OWNER = { username: 'owner', password: 'e2e-Owner-pass-2026' }
const CASHIER = { username: 'cashier1', password: 'e2e-Cashier-pass-2026' }
const DEMO_OWNER = { username: 'owner', password: 'patron-demo-2026' }

// ---------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const o = { chromium: process.env.PATRON_E2E_CHROMIUM || '/usr/bin/chromium' }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--patron') o.patron = val()
    else if (a === '--url') o.url = val().replace(/\/+$/, '')
    else if (a === '--port') o.port = Number(val())
    else if (a === '--only') o.only = val().split(',').filter(Boolean)
    else if (a === '--chromium') o.chromium = val()
    else if (a === '--screenshots') o.screenshots = val()
    else if (a === '--keep') o.keep = true
    else if (a === '--headed') o.headed = true
    else if (a === '-h' || a === '--help') usage()
    else usage(`unknown argument ${a}`)
  }
  if (!o.patron) usage('--patron PATH is required')
  return o
}

function usage(msg) {
  if (msg) console.error(`e2e: ${msg}`)
  console.error('usage: node web/tests/e2e/run.mjs --patron PATH [--url URL] [--port N] [--only a,b] [--screenshots DIR] [--keep]')
  process.exit(2)
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const t0 = Date.now()
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`

/** The same text as web/src/utils/money.ts formatPoints / formatMoney (kept in step by hand). */
const fmtPoints = (n) => n.toLocaleString('en-US')
const fmtMoney = (fen) => {
  const abs = Math.abs(fen)
  return `${fen < 0 ? '-' : ''}¥${Math.floor(abs / 100).toLocaleString('en-US')}.${String(abs % 100).padStart(2, '0')}`
}
const yuan = (fen) => (fen / 100).toFixed(2)

function withTimeout(promise, ms, what) {
  let timer
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms / 1000} s`)), ms)
    }),
  ])
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer()
    s.unref()
    s.on('error', rej)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => res(port))
    })
  })
}

function check(cond, msg) {
  if (!cond) throw new Error(msg)
}

// ---------------------------------------------------------------------------------------------
// The server

class Server {
  constructor(patron, dir, port) {
    this.patron = resolve(patron)
    this.dir = dir
    this.port = port
    this.db = `sqlite:${join(dir, 'e2e.db')}`
    this.base = `http://127.0.0.1:${port}`
    this.log = join(dir, 'serve.log')
  }

  /** Runs a patron command to completion (init, staff add); throws with its output on failure. */
  run(args, timeout = 60_000) {
    const r = spawnSync(this.patron, args, { cwd: this.dir, encoding: 'utf8', timeout })
    if (r.status !== 0)
      throw new Error(`patron ${args[0]} ${args[1] ?? ''} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}${r.stderr}`)
    return r.stdout
  }

  async start({ requireConsole = true } = {}) {
    await new Promise((res, rej) => {
      const probe = createServer()
      probe.on('error', () => rej(new Error(`port ${this.port} is in use`)))
      probe.listen(this.port, '127.0.0.1', () => probe.close(res))
    })
    const fd = openSync(this.log, 'a')
    // cwd is the temporary directory, so no patron.ini of the checkout is read.
    this.proc = spawn(this.patron, ['serve', '--db', this.db, '--listen', `127.0.0.1:${this.port}`, '--workers', '4'], {
      cwd: this.dir,
      stdio: ['ignore', fd, fd],
    })
    this.exited = new Promise((res) => this.proc.on('exit', (code, sig) => res(code ?? sig)))
    // However this process ends, the server ends with it.
    process.on('exit', () => this.proc.exitCode === null && this.proc.kill('SIGKILL'))
    const deadline = Date.now() + 15_000
    for (;;) {
      if (this.proc.exitCode !== null) throw new Error(`patron serve exited:\n${this.tail()}`)
      try {
        const r = await fetch(`${this.base}/healthz`)
        if (r.ok && this.proc.exitCode === null) break
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`patron serve did not answer /healthz in 15 s:\n${this.tail()}`)
      await sleep(100)
    }
    if (!requireConsole) return
    // The console must be built in: / answers the app's HTML.
    const r = await fetch(`${this.base}/`)
    const html = await r.text()
    if (!r.ok || !html.includes('id="app"'))
      throw new Error(
        `${this.patron} does not serve the console at / (HTTP ${r.status}); build it with the console (cmake -DPATRON_WEB=ON)`,
      )
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return
    this.proc.kill('SIGTERM')
    const done = await Promise.race([this.exited, sleep(5000).then(() => 'timeout')])
    if (done === 'timeout') {
      this.proc.kill('SIGKILL')
      await this.exited
    }
  }

  tail(n = 20) {
    try {
      return readFileSync(this.log, 'utf8').split('\n').slice(-n).join('\n')
    } catch {
      return ''
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The API, to prepare data a scenario needs and to check what the pages show

class ApiError extends Error {
  constructor(status, body, what) {
    super(`${what}: HTTP ${status} ${JSON.stringify(body)}`)
    this.status = status
    this.body = body
  }
}

class Api {
  constructor(base) {
    this.base = base
    this.cookie = ''
    this.csrf = ''
    this.seq = 0
  }

  async login(user) {
    const r = await this.req('POST', '/auth/login', { username: user.username, password: user.password })
    this.csrf = r.csrf_token
    return this
  }

  async req(method, path, body, { idempotent = false } = {}) {
    const headers = { Accept: 'application/json', 'Accept-Language': 'en' }
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    if (this.cookie) headers.Cookie = this.cookie
    if (this.csrf && method !== 'GET') headers['X-CSRF-Token'] = this.csrf
    if (idempotent) headers['Idempotency-Key'] = `e2e-${process.pid}-${Date.now()}-${++this.seq}`
    const res = await fetch(`${this.base}/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(STEP_MS),
    })
    const set = res.headers.getSetCookie?.() ?? []
    for (const c of set) if (c.startsWith('patron_session=')) this.cookie = c.split(';')[0]
    const text = await res.text()
    let data = null
    try {
      data = text ? JSON.parse(text) : null
    } catch {
      data = text
    }
    if (!res.ok) throw new ApiError(res.status, data, `${method} ${path}`)
    return data
  }

  get(path) {
    return this.req('GET', path)
  }
  post(path, body, opts) {
    return this.req('POST', path, body ?? {}, opts)
  }
  put(path, body) {
    return this.req('PUT', path, body)
  }
  patch(path, body) {
    return this.req('PATCH', path, body)
  }

  async all(path) {
    const items = []
    let cursor = null
    for (let i = 0; i < 20; i++) {
      const sep = path.includes('?') ? '&' : '?'
      const page = await this.get(`${path}${sep}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
      items.push(...page.items)
      cursor = page.next_cursor
      if (!cursor) break
    }
    return items
  }
}

// ---------------------------------------------------------------------------------------------
// What the owner sets up (through the pages; `ensureFixture` fills in through the API whatever a
// failed owner scenario left out, so the cashier scenarios still run)

const FIX = {
  store: { code: 'E2E-01', name: '测试旗舰店' },
  points: { earnPerYuan: 2, signupBonus: 2000, redeemPoints: 100, redeemAmount: 100, maxRatioBp: 5000 },
  tier: { name: '金卡会员', rank: 1, threshold: 50000, discountBp: 9500, multiplierBp: 15000 },
  products: [
    { sku: 'E2E-COLA', name: '可口可乐 330ml', price: 350, barcode: '6900000000011', stock: 100 },
    { sku: 'E2E-RICE', name: '五常大米 5kg', price: 8990, barcode: '6900000000028', stock: 100 },
    { sku: 'E2E-OIL', name: '花生油 5L', price: 12800, barcode: '6900000000035', stock: 100, memberPrice: 11800 },
  ],
  member: { name: '张晓明', phone: '13912345678' },
  coupon: { name: '满100减10元', value: 1000, minSpend: 10000, validDays: 30 },
  redeem: 500, // points redeemed in each sale
}

const state = {} // ids found or made along the way: storeId, memberId, couponCodes, orderId, …

async function ensureFixture(api) {
  const stores = await api.all('/stores')
  let store = stores.find((s) => s.code === FIX.store.code)
  if (!store) store = await api.post('/stores', FIX.store)
  state.storeId = store.id

  const settings = await api.get('/settings/points')
  if (settings.signup_bonus !== FIX.points.signupBonus || settings.earn.points !== FIX.points.earnPerYuan) {
    settings.signup_bonus = FIX.points.signupBonus
    settings.earn = { per_amount: 100, points: FIX.points.earnPerYuan }
    await api.put('/settings/points', settings)
  }

  const tiers = await api.all('/tiers')
  if (!tiers.some((t) => t.name === FIX.tier.name))
    await api.post('/tiers', {
      name: FIX.tier.name,
      rank: FIX.tier.rank,
      threshold: FIX.tier.threshold,
      basis: 'lifetime',
      discount_bp: FIX.tier.discountBp,
      points_multiplier_bp: FIX.tier.multiplierBp,
    })

  const products = await api.all('/products')
  for (const p of FIX.products) {
    if (!products.some((q) => q.sku === p.sku)) {
      const body = { sku: p.sku, name: p.name, price: p.price, barcode: p.barcode }
      if (p.memberPrice) body.member_price = p.memberPrice
      await api.post('/products', body)
    }
  }
  const stock = await api.all(`/stock?store_id=${state.storeId}`)
  for (const p of FIX.products) {
    const row = stock.find((s) => s.sku === p.sku)
    const qty = row?.qty ?? row?.quantity ?? 0
    if (qty < 10) await api.post('/stock/movements', { store_id: state.storeId, sku: p.sku, kind: 'receive', qty: p.stock }, { idempotent: true })
  }

  let member = await api.get(`/members/lookup?phone=${FIX.member.phone}`).catch((e) => {
    if (e.status === 404) return null
    throw e
  })
  if (!member) member = await api.post('/members', { ...FIX.member, store_id: state.storeId })
  state.memberId = member.id

  const templates = await api.all('/coupon-templates')
  let tpl = templates.find((t) => t.name === FIX.coupon.name)
  if (!tpl)
    tpl = await api.post('/coupon-templates', {
      name: FIX.coupon.name,
      kind: 'amount_off',
      value: FIX.coupon.value,
      min_spend: FIX.coupon.minSpend,
      valid_days: FIX.coupon.validDays,
    })
  state.templateId = tpl.id
  // One coupon for each sale (zh-CN, English, phone width).
  const active = async () => (await api.all(`/members/${state.memberId}/coupons`)).filter((c) => c.status === 'active')
  let coupons = await active()
  for (let i = coupons.length; i < 3; i++) await api.post(`/coupon-templates/${tpl.id}/issue`, { member_ids: [state.memberId] })
  coupons = await active()
  state.couponCodes = coupons.map((c) => c.code)
}

// ---------------------------------------------------------------------------------------------
// The browser side

const sel = (hook) => `[data-test="${hook}"]`

/** The <input>/<textarea> of an element with a data-test hook (Element Plus puts it on a wrapper). */
function field(page, hook) {
  const s = sel(hook)
  return page.locator(`input${s}, textarea${s}, ${s} input:not([type=hidden]), ${s} textarea`).first()
}

/** Picks an option of an el-select by its visible text. */
async function choose(page, hook, text) {
  await page.locator(sel(hook)).first().click()
  const option = page.locator('.el-select-dropdown__item:visible, .el-select-dropdown li:visible', { hasText: text }).first()
  await option.click()
}

/** Whether the element currently has the keyboard focus. */
async function focused(locator) {
  return locator.evaluate((el) => el === document.activeElement || el.contains(document.activeElement)).catch(() => false)
}

/**
 * Counts what a cashier does: typing a phone = 1, each Enter, click or scan = 1; a click needed
 * only to put the cursor into an input is counted too (the page should have put it there).
 */
class Actions {
  constructor(page) {
    this.page = page
    this.count = 0
    this.log = []
  }
  note(what) {
    this.count++
    this.log.push(what)
  }
  async focus(locator, what) {
    if (!(await focused(locator))) {
      this.note(`click into ${what}`)
      await locator.click()
    }
  }
  async type(locator, text, what) {
    await this.focus(locator, what)
    this.note(`type ${what}`)
    await locator.fill(text)
  }
  async enter(locator, what) {
    this.note(`Enter in ${what}`)
    await locator.press('Enter')
  }
  async click(locator, what) {
    this.note(`click ${what}`)
    await locator.click()
  }
  /** A keyboard-wedge scanner: types the code into the focused input, then Enter. */
  async scan(locator, code, what = 'item input') {
    await this.focus(locator, what)
    this.note(`scan ${code}`)
    await this.page.keyboard.type(code, { delay: 5 })
    await this.page.keyboard.press('Enter')
  }
}

/** A browser context and page whose errors go to the scenario running at the time. */
async function openPage(ctx, { width, height }) {
  const context = await ctx.browser.newContext({ viewport: { width, height }, locale: 'zh-CN' })
  context.setDefaultTimeout(STEP_MS)
  context.setDefaultNavigationTimeout(15_000)
  const page = await context.newPage()
  page.on('pageerror', (e) => ctx.running?.errors.push(`page error: ${e.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error') ctx.running?.errors.push(`console: ${m.text()}`)
  })
  return { context, page }
}

class Scenario {
  constructor(name, ctx) {
    this.name = name
    this.ctx = ctx
    this.page = null
    this.current = 'start'
    this.errors = []
  }

  /** A new browser context (its own cookies) and page; closed when the scenario ends. */
  async newPage({ width = 1280, height = 800 } = {}) {
    const { context, page } = await openPage(this.ctx, { width, height })
    this.page = page
    this.context = context
    return page
  }

  /**
   * The cashier's page, signed in once and kept across the cashier scenarios, as a till stays
   * signed in all day (it saves a console load and a sign-in per scenario). Returns whether it
   * was already signed in.
   */
  async cashierPage() {
    const shared = this.ctx.cashier
    if (shared && !shared.page.isClosed()) {
      this.page = shared.page
      return true
    }
    this.ctx.cashier = await openPage(this.ctx, { width: 1280, height: 800 })
    this.page = this.ctx.cashier.page
    return false
  }

  async step(name, fn) {
    this.current = name
    const start = Date.now()
    const r = await fn()
    if (this.ctx.verbose) console.log(`   · ${this.name}: ${name} (${Date.now() - start} ms)`)
    return r
  }

  async screenshot() {
    if (!this.page) return null
    mkdirSync(RESULTS, { recursive: true })
    const file = join(RESULTS, `${this.name}-${this.current.replace(/[^\w.-]+/g, '-')}.png`)
    try {
      await this.page.screenshot({ path: file, fullPage: true, timeout: 5000 })
      return file
    } catch {
      return null
    }
  }

  async close() {
    await this.context?.close().catch(() => {})
  }
}

async function gotoApp(sc, path) {
  await sc.page.goto(`${sc.ctx.url}${path}`)
}

/** Signs in through the login form; lands on the dashboard (or the page asked for). */
async function login(sc, user, { lang } = {}) {
  const page = sc.page
  await gotoApp(sc, '/login')
  // The first check of the session may still be sending the page to /login?next=/.
  await page.waitForLoadState('networkidle', { timeout: 5000 }).catch(() => {})
  if (lang === 'en') await choose(page, 'language', 'English')
  await field(page, 'login-username').fill(user.username)
  await field(page, 'login-password').fill(user.password)
  await page.locator(sel('login-submit')).click()
  await page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: STEP_MS })
}

/** Waits for the answer to an API call the page makes while fn runs. */
async function answerOf(page, method, pathRe, fn) {
  const wait = page.waitForResponse(
    (r) => r.request().method() === method && pathRe.test(new URL(r.url()).pathname),
    { timeout: STEP_MS },
  )
  wait.catch(() => {}) // fn may fail first; its error is the one to report
  await fn()
  const res = await wait
  const body = await res.json().catch(() => null)
  if (!res.ok()) throw new Error(`${method} ${new URL(res.url()).pathname} answered ${res.status()}: ${JSON.stringify(body)}`)
  return body
}

// ---------------------------------------------------------------------------------------------
// Scenarios

const SCENARIOS = []
function scenario(name, fn, opts = {}) {
  SCENARIOS.push({ name, fn, ...opts })
}

scenario('login-wrong-password', async (sc) => {
  const page = await sc.newPage()
  await sc.step('open-login', async () => {
    await gotoApp(sc, '/login')
    await page.waitForLoadState('networkidle', { timeout: 5000 }).catch(() => {})
  })
  await sc.step('submit-wrong-password', async () => {
    await field(page, 'login-username').fill(OWNER.username)
    await field(page, 'login-password').fill('not-the-password')
    await page.locator(sel('login-submit')).click()
  })
  let zhError
  await sc.step('error-shown', async () => {
    const err = page.locator(sel('login-error'))
    await err.waitFor({ state: 'visible' })
    zhError = (await err.innerText()).trim()
    check(zhError.length > 0, 'the login error is empty')
    check(new URL(page.url()).pathname === '/login', `left the login page: ${page.url()}`)
  })
  await sc.step('error-in-english', async () => {
    // The language switch on the sign-in page; the API's message follows it.
    await choose(page, 'language', 'English')
    await eventually(async () => check((await page.locator(sel('login-submit')).innerText()).trim() === 'Sign in', 'the button is not in English'), 'English')
    const answer = await answerOf(page, 'POST', /\/api\/v1\/auth\/login$/, () => page.locator(sel('login-submit')).click()).catch((e) => e)
    check(answer instanceof Error && /401/.test(answer.message), `a wrong password answered ${answer?.message ?? JSON.stringify(answer)}`)
    await eventually(async () => {
      const text = (await page.locator(sel('login-error')).innerText()).trim()
      check(text && text !== zhError && !/[\u4e00-\u9fff]/.test(text), `the error is not in English: ${text}`)
    }, 'English error')
  })
})

scenario('owner-setup', async (sc) => {
  await ownerSetup(sc)
})

scenario('cashier-sale', async (sc) => {
  await cashierSale(sc, { lang: 'zh-CN', width: 1280, height: 800 })
})

scenario('order-partial-refund', async (sc) => {
  await partialRefund(sc)
})

scenario('cashier-sale-english', async (sc) => {
  await cashierSale(sc, { lang: 'en', width: 1280, height: 800 })
})

scenario('cashier-sale-phone', async (sc) => {
  await cashierSale(sc, { lang: 'zh-CN', width: 375, height: 812 })
})

// ---- owner ---------------------------------------------------------------------------------

/** Goes to a page through the menu (the drawer on a phone), as a person would. */
async function openFromMenu(sc, path) {
  const page = sc.page
  const item = page.locator(sel(`nav-${path.slice(1)}`))
  if (await item.isVisible().catch(() => false)) await item.click()
  else await gotoApp(sc, path)
  await page.waitForURL(`**${path}`)
}

/** Clicks a dialog's or form's save button and returns the API's answer to the change. */
function saveAndAnswer(page, hook, method, pathRe) {
  return answerOf(page, method, pathRe, () => page.locator(sel(hook)).click())
}

async function ownerSetup(sc) {
  const { owner } = sc.ctx
  const page = await sc.newPage()
  await sc.step('owner-login', () => login(sc, OWNER))

  await sc.step('store', async () => {
    await openFromMenu(sc, '/stores')
    await page.locator(sel('store-new')).click()
    await field(page, 'store-form-code').fill(FIX.store.code)
    await field(page, 'store-form-name').fill(FIX.store.name)
    const store = await saveAndAnswer(page, 'store-form-save', 'POST', /\/api\/v1\/stores$/)
    check(store.code === FIX.store.code && store.name === FIX.store.name, `the store was saved as ${JSON.stringify(store)}`)
    state.storeId = store.id
    await page.locator(sel('store-form-save')).waitFor({ state: 'hidden' })
    await page.locator('.el-table, table', { hasText: FIX.store.name }).first().waitFor()
  })

  await sc.step('points-rules', async () => {
    await openFromMenu(sc, '/points')
    const earn = field(page, 'points-earn-rate')
    await earn.waitFor()
    await expectValue(earn, /./, 'the points rules did not load')
    await field(page, 'points-earn-per-amount').fill('1')
    await earn.fill(String(FIX.points.earnPerYuan))
    await field(page, 'points-signup-bonus').fill(String(FIX.points.signupBonus))
    const saved = await saveAndAnswer(page, 'points-settings-save', 'PUT', /\/api\/v1\/settings\/points$/)
    check(saved.earn.per_amount === 100 && saved.earn.points === FIX.points.earnPerYuan, `earn saved as ${JSON.stringify(saved.earn)}`)
    check(saved.signup_bonus === FIX.points.signupBonus, `signup bonus saved as ${saved.signup_bonus}`)
    const api = await owner.get('/settings/points')
    check(api.signup_bonus === FIX.points.signupBonus && api.earn.points === FIX.points.earnPerYuan, 'the API has other points rules')
  })

  await sc.step('tier', async () => {
    await openFromMenu(sc, '/tiers')
    await page.locator(sel('tier-new')).click()
    await field(page, 'tier-form-name').fill(FIX.tier.name)
    await field(page, 'tier-form-rank').fill(String(FIX.tier.rank))
    await field(page, 'tier-form-threshold').fill(yuan(FIX.tier.threshold))
    await field(page, 'tier-form-discount').fill(String(FIX.tier.discountBp / 100)) // percent: 95
    await field(page, 'tier-form-multiplier').fill(String(FIX.tier.multiplierBp / 10000)) // 1.5
    const tier = await saveAndAnswer(page, 'tier-form-save', 'POST', /\/api\/v1\/tiers$/)
    check(
      tier.name === FIX.tier.name && tier.threshold === FIX.tier.threshold && tier.discount_bp === FIX.tier.discountBp &&
        tier.points_multiplier_bp === FIX.tier.multiplierBp,
      `the tier was saved as ${JSON.stringify(tier)}`,
    )
    await page.locator(sel('tier-form-save')).waitFor({ state: 'hidden' })
    await page.locator('.el-table, table', { hasText: FIX.tier.name }).first().waitFor()
  })

  await sc.step('products', async () => {
    await openFromMenu(sc, '/products')
    for (const p of FIX.products) {
      await page.locator(sel('product-new')).click()
      await field(page, 'product-form-name').fill(p.name)
      await field(page, 'product-form-sku').fill(p.sku)
      await field(page, 'product-form-barcode').fill(p.barcode)
      await field(page, 'product-form-price').fill(yuan(p.price))
      if (p.memberPrice) await field(page, 'product-form-member-price').fill(yuan(p.memberPrice))
      const made = await saveAndAnswer(page, 'product-form-save', 'POST', /\/api\/v1\/products$/)
      check(made.sku === p.sku && made.barcode === p.barcode && made.price === p.price, `product saved as ${JSON.stringify(made)}`)
      if (p.memberPrice) check(made.member_price === p.memberPrice, `member price saved as ${made.member_price}`)
      await page.locator(sel('product-form-save')).waitFor({ state: 'hidden' })
    }
  })

  await sc.step('stock', async () => {
    await openFromMenu(sc, '/stock')
    for (const p of FIX.products) {
      await page.locator(sel('stock-move')).click()
      await page.locator(sel('stock-kind-receive')).first().click()
      const store = page.locator(sel('stock-form-store')).first()
      if (!(await store.innerText()).includes(FIX.store.name)) await choose(page, 'stock-form-store', FIX.store.name)
      const sku = field(page, 'stock-form-sku')
      await sku.fill(p.sku)
      // Pick the product from the suggestions, as a person would.
      const hit = page.locator('.el-autocomplete-suggestion li:visible', { hasText: p.sku }).first()
      await hit.click({ timeout: 5000 })
      check((await sku.inputValue()) === p.sku, `the SKU field says ${await sku.inputValue()}`)
      await field(page, 'stock-form-qty').fill(String(p.stock))
      const moved = await saveAndAnswer(page, 'stock-form-save', 'POST', /\/api\/v1\/stock\/movements$/)
      check(moved && JSON.stringify(moved).includes(p.sku), `stock movement answered ${JSON.stringify(moved)}`)
      await page.locator(sel('stock-form-save')).waitFor({ state: 'hidden' })
    }
    const stock = await owner.all(`/stock?store_id=${state.storeId}`)
    for (const p of FIX.products) {
      const row = stock.find((r) => r.sku === p.sku)
      check(row?.qty === p.stock, `the API has ${row?.qty} of ${p.sku} in stock, not ${p.stock}`)
    }
  })

  await sc.step('register-member', async () => {
    await openFromMenu(sc, '/members')
    await page.locator(sel('member-new')).click()
    await page.waitForURL('**/members/new')
    await field(page, 'member-form-name').fill(FIX.member.name)
    await field(page, 'member-form-phone').fill(FIX.member.phone)
    const m = await saveAndAnswer(page, 'member-form-save', 'POST', /\/api\/v1\/members$/)
    state.memberId = m.id
    await page.waitForURL(`**/members/${m.id}`)
    check(m.points === FIX.points.signupBonus, `the new member has ${m.points} points, not the signup bonus ${FIX.points.signupBonus}`)
    await eventually(async () => {
      const shown = await numberIn(page, 'member-points')
      check(shown === FIX.points.signupBonus, `the member page shows ${shown} points`)
    }, 'new member balance')
  })

  await sc.step('coupon-template', async () => {
    await openFromMenu(sc, '/coupons')
    await page.locator(sel('coupon-template-new')).click()
    await field(page, 'coupon-form-name').fill(FIX.coupon.name)
    await page.locator(sel('coupon-kind-amount')).click()
    await field(page, 'coupon-form-value').fill(yuan(FIX.coupon.value))
    await field(page, 'coupon-form-min-spend').fill(yuan(FIX.coupon.minSpend))
    await field(page, 'coupon-form-valid-days').fill(String(FIX.coupon.validDays))
    const tpl = await saveAndAnswer(page, 'coupon-form-save', 'POST', /\/api\/v1\/coupon-templates$/)
    check(
      tpl.kind === 'amount_off' && tpl.value === FIX.coupon.value && tpl.min_spend === FIX.coupon.minSpend && tpl.valid_days === FIX.coupon.validDays,
      `the coupon template was saved as ${JSON.stringify(tpl)}`,
    )
    state.templateId = tpl.id
    await page.locator(sel('coupon-form-save')).waitFor({ state: 'hidden' })
  })

  await sc.step('coupon-issue', async () => {
    const row = page.locator(`${sel('coupon-template-row')}[data-name="${FIX.coupon.name}"]`).first()
    await row.locator(sel('coupon-issue')).click()
    const who = field(page, 'coupon-issue-member')
    await who.fill(FIX.member.phone)
    await who.press('Enter')
    await page.locator(sel('coupon-issue-chosen'), { hasText: FIX.member.name }).waitFor()
    const r = await saveAndAnswer(page, 'coupon-issue-submit', 'POST', /\/api\/v1\/coupon-templates\/\d+\/issue$/)
    check(r.coupons?.length === 1 && r.coupons[0].member_id === state.memberId, `issued ${JSON.stringify(r)}`)
    await page.locator(sel('coupon-issue-result'), { hasText: r.coupons[0].code }).waitFor()
    const mine = await owner.all(`/members/${state.memberId}/coupons`)
    check(mine.some((c) => c.code === r.coupons[0].code && c.status === 'active'), 'the member does not have the coupon')
  })
}

/** Waits until an input's value matches. */
async function expectValue(locator, re, what) {
  await eventually(async () => check(re.test(await locator.inputValue()), what), what)
}

// ---- cashier -------------------------------------------------------------------------------

/** The number in an element, '1,234' / '-12' → 1234 / -12. */
async function numberIn(page, hook) {
  const text = (await page.locator(sel(hook)).first().innerText()).trim()
  const m = /-?[\d,]+/.exec(text)
  check(m, `no number in [data-test=${hook}]: ${JSON.stringify(text)}`)
  return Number(m[0].replace(/,/g, ''))
}

/** Waits until fn() (re-run every 100 ms) stops throwing; returns its value. */
async function eventually(fn, what, ms = STEP_MS) {
  const deadline = Date.now() + ms
  let last
  for (;;) {
    try {
      return await fn()
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) throw new Error(`${what}: ${last?.message ?? last}`)
    await sleep(100)
  }
}

/**
 * The member page shows the balance the API has. Reached through the order page's member link
 * when the page is on the order (no reload of the whole console), else by its address.
 */
async function memberPageShows(sc, memberId, points) {
  const link = sc.page.locator(`${sel('order-member')}[href="/members/${memberId}"]`)
  if (await link.isVisible().catch(() => false)) {
    await link.click()
    await sc.page.waitForURL(`**/members/${memberId}`)
  } else {
    await gotoApp(sc, `/members/${memberId}`)
  }
  await eventually(async () => {
    const shown = await numberIn(sc.page, 'member-points')
    check(shown === points, `the member page shows ${shown} points, the API has ${points}`)
  }, 'member page balance')
}

/**
 * Puts the shared cashier page in the language and size a scenario wants, signing in on
 * first use (and starting over from a fresh load when an earlier scenario failed on it).
 */
async function cashierReady(sc, { lang = 'zh-CN', width = 1280, height = 800 } = {}) {
  const signedIn = await sc.cashierPage()
  const page = sc.page
  await page.setViewportSize({ width, height })
  if (!signedIn) await sc.step('cashier-login', () => login(sc, CASHIER))
  else if (sc.ctx.cashierDirty)
    await sc.step('reload', async () => {
      await gotoApp(sc, '/')
      await page.locator(sel('user-menu')).waitFor()
    })
  sc.ctx.cashierDirty = false
  await sc.step(`language-${lang}`, async () => {
    const html = page.locator('html')
    if ((await html.getAttribute('lang')) !== lang) await choose(page, 'language', lang === 'en' ? 'English' : '中文')
    await eventually(async () => check((await html.getAttribute('lang')) === lang, `the page is not in ${lang}`), 'language')
  })
  return page
}

async function cashierSale(sc, { lang, width, height }) {
  const { owner } = sc.ctx
  const code = state.couponCodes[0] // ensureFixture keeps three unused ones
  check(code, 'the member has no coupon to use')
  const before = (await owner.get(`/members/${state.memberId}`)).points
  check(before >= FIX.redeem, `the member has ${before} points, fewer than the ${FIX.redeem} to redeem`)
  const page = await cashierReady(sc, { lang, width, height })

  await sc.step('open-cashier', async () => {
    if (width < 900) {
      // On a phone the menu is a drawer.
      await page.locator(sel('menu-button')).click()
      await page.locator('.el-drawer .el-menu-item', { hasText: lang === 'en' ? 'Checkout' : '收银' }).first().click()
    } else {
      await page.locator(sel('nav-cashier')).click()
    }
    await page.waitForURL('**/cashier')
    await field(page, 'cashier-member-input').waitFor()
    if (lang === 'en') {
      const title = await page.locator('h2').first().innerText()
      check(/[A-Za-z]/.test(title) && !/[\u4e00-\u9fff]/.test(title), `the cashier title is not English: ${title}`)
    }
  })

  const quotes = [] // every quote the page asked for, in order
  page.on('response', async (r) => {
    if (r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/v1/checkout/quote' && r.ok())
      quotes.push(await r.json().catch(() => null))
  })
  const acts = new Actions(page)
  const memberInput = field(page, 'cashier-member-input')
  const itemInput = field(page, 'cashier-item-input')
  await sc.step('find-member', async () => {
    await acts.type(memberInput, FIX.member.phone, 'phone')
    await acts.enter(memberInput, 'member input')
    const card = page.locator(sel('cashier-member-card'))
    await card.waitFor()
    check(Number(await card.getAttribute('data-member-id')) === state.memberId, 'another member was found')
    check((await numberIn(page, 'cashier-member-points')) === before, 'the member card shows another balance')
  })
  await sc.step('scan-items', async () => {
    for (const p of FIX.products) await acts.scan(itemInput, p.barcode)
    await eventually(async () => {
      const n = await page.locator(sel('cashier-line')).count()
      check(n === 3, `${n} lines in the basket, not 3`)
    }, 'three lines')
  })
  await sc.step('apply-coupon', async () => {
    const chip = page.locator(`${sel('cashier-coupon-chip')}[data-code="${code}"]`)
    await acts.click(chip, 'coupon')
    await page.locator(sel('cashier-coupon-applied')).waitFor()
  })
  await sc.step('redeem-points', async () => {
    await acts.type(field(page, 'cashier-points-input'), String(FIX.redeem), 'points')
  })
  let quote
  await sc.step('quote-shown', async () => {
    // The page re-prices as the basket changes: wait for the quote of the whole basket (3 lines,
    // the coupon, the points) and check the bar shows it.
    quote = await eventually(async () => {
      const q = quotes.at(-1)
      check(q, 'no quote yet')
      check(q.points_redeemed === FIX.redeem, `the last quote redeems ${q.points_redeemed} points`)
      check(q.coupon_code === code, `the last quote has coupon ${q.coupon_code}`)
      const total = (await page.locator(sel('cashier-total')).innerText()).trim()
      check(total === fmtMoney(q.total), `the bar shows ${total}, the quote says ${fmtMoney(q.total)}`)
      return q
    }, 'quote')
    check(quote.lines.length === 3, `the quote has ${quote.lines.length} lines`)
    check(quote.coupon_discount > 0, 'the coupon took nothing off')
    const due = (await page.locator(sel('cashier-cash-due')).innerText()).trim()
    check(due === fmtMoney(quote.cash_due), `cash due shows ${due}, the quote says ${fmtMoney(quote.cash_due)}`)
  })
  if (width < 600)
    await sc.step('fits-phone-width', async () => {
      const { scroll, inner } = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        inner: window.innerWidth,
      }))
      check(scroll <= inner + 1, `the cashier page is ${scroll} px wide on a ${inner} px screen (scrolls sideways)`)
      if (process.env.E2E_SHOTS) await page.screenshot({ path: join(process.env.E2E_SHOTS, 'cashier-phone.png'), fullPage: true })
    })
  let sale
  await sc.step('commit', async () => {
    sale = await answerOf(page, 'POST', /\/api\/v1\/checkout$/, () => acts.click(page.locator(sel('cashier-commit')), 'commit'))
    await page.locator(sel('cashier-done')).waitFor()
    check(sale.order_id > 0, 'no order id')
    check(sale.points_redeemed === FIX.redeem, `the sale redeemed ${sale.points_redeemed} points`)
    check(sale.coupon_discount === quote.coupon_discount, 'the sale and the quote differ on the coupon')
    check(sale.cash_due === quote.cash_due, `the sale's cash due ${sale.cash_due} differs from the quote's ${quote.cash_due}`)
  })
  await sc.step('action-count', () => {
    check(
      acts.count <= MAX_SALE_ACTIONS,
      `${acts.count} actions from member lookup to committed sale (at most ${MAX_SALE_ACTIONS}): ${acts.log.join('; ')}`,
    )
  })
  await sc.step('balance', async () => {
    const after = (await owner.get(`/members/${state.memberId}`)).points
    const expected = before + sale.points_earned - sale.points_redeemed
    check(after === expected, `the API has ${after} points; ${before} + ${sale.points_earned} earned − ${sale.points_redeemed} redeemed = ${expected}`)
    if (sale.points_balance !== undefined) check(sale.points_balance === after, `the sale answered points_balance ${sale.points_balance}, the member has ${after}`)
    // From the receipt to the order, then to the member.
    await page.locator(`a[href="/orders/${sale.order_id}"]`).first().click()
    await page.locator(sel('order-member')).waitFor()
    await memberPageShows(sc, state.memberId, after)
  })
  state.orders = [...(state.orders ?? []), sale]
  sc.summary = `${acts.count} actions, order ${sale.order_id}, ${yuan(sale.cash_due)} cash, +${sale.points_earned}/−${sale.points_redeemed} points`
}

async function partialRefund(sc) {
  const { owner } = sc.ctx
  let sale = state.orders?.[0]
  if (!sale) {
    // The sale scenario failed or was left out: make one through the API.
    sale = await owner.post(
      '/checkout',
      { store_id: state.storeId, member_id: state.memberId, items: FIX.products.map((p) => ({ sku: p.sku, qty: 1 })) },
      { idempotent: true },
    )
  }
  const before = (await owner.get(`/members/${state.memberId}`)).points
  // Refund one unit of the dearest line: points come back and some are taken back.
  const line = [...sale.lines].sort((a, b) => b.cash - a.cash)[0]
  const index = sale.lines.indexOf(line)

  const page = await cashierReady(sc)
  await sc.step('open-order', async () => {
    // From the member page the sale left us on (its ledger links the order), else by address.
    const link = page.locator(`a[href="/orders/${sale.order_id}"]`).first()
    if (await link.isVisible().catch(() => false)) await link.click()
    else await gotoApp(sc, `/orders/${sale.order_id}`)
    await page.waitForURL(`**/orders/${sale.order_id}`)
    await page.locator(sel('order-refund-form')).waitFor()
  })
  let refund
  await sc.step('choose-line', async () => {
    const lineNo = line.line ?? index
    const qty = page.locator(`input${sel('order-refund-qty')}[data-line="${lineNo}"], ${sel('order-refund-qty')}[data-line="${lineNo}"] input`)
    await qty.fill('1')
    await eventually(async () => check(!(await page.locator(sel('order-refund-submit')).isDisabled()), 'refund button disabled'), 'refund enabled')
  })
  await sc.step('refund', async () => {
    refund = await answerOf(page, 'POST', /\/api\/v1\/orders\/\d+\/refund$/, async () => {
      await page.locator(sel('order-refund-submit')).click()
      await page.locator('.el-message-box__btns .el-button--primary').click()
    })
    await page.locator(sel('order-refund-result')).waitFor()
    check(refund.lines.length === 1, `the refund has ${refund.lines.length} lines`)
    check(refund.cash > 0 && refund.cash < sale.cash_due, `refund cash ${refund.cash} is not a part of ${sale.cash_due}`)
    const shown = (await page.locator(sel('order-refund-cash')).innerText()).trim()
    check(shown === fmtMoney(refund.cash), `the page shows ${shown} refunded, the API says ${fmtMoney(refund.cash)}`)
  })
  await sc.step('order-after', async () => {
    const order = await owner.get(`/orders/${sale.order_id}`)
    check(order.refunds?.length >= 1, 'the order has no refund')
    await page.locator(sel('order-refunds')).waitFor()
    check(await page.locator(sel('order-refund-form')).isVisible(), 'the refund form is gone though two lines are left')
  })
  await sc.step('balance', async () => {
    const after = (await owner.get(`/members/${state.memberId}`)).points
    const expected = before + refund.points_returned - refund.points_clawback
    check(after === expected, `the API has ${after} points; ${before} + ${refund.points_returned} returned − ${refund.points_clawback} taken back = ${expected}`)
    await memberPageShows(sc, state.memberId, after)
  })
  sc.summary = `refunded ${yuan(refund.cash)} of order ${sale.order_id}, +${refund.points_returned}/−${refund.points_clawback} points`
}

// ---------------------------------------------------------------------------------------------
// README screenshots against the demo business

async function screenshots(ctx, sc, dir) {
  const api = await new Api(ctx.server.base).login(DEMO_OWNER)
  // A member worth showing: the highest tier, the most points.
  const tiers = (await api.all('/tiers')).sort((a, b) => b.rank - a.rank)
  let members = []
  for (const t of tiers.filter((x) => x.rank > 0)) {
    members = (await api.get(`/members?tier_id=${t.id}&limit=500`)).items
    if (members.length) break
  }
  if (!members.length) members = (await api.get('/members?limit=500')).items
  const member = members.sort((a, b) => b.points - a.points)[0]
  check(member, 'the demo has no members')
  const products = (await api.all('/products')).filter((p) => p.barcode)
  const wanted = ['DRK-004', 'SNK-003', 'FRS-001']
  const basket = wanted.map((sku) => products.find((p) => p.sku === sku)).filter(Boolean)
  for (const p of products) if (basket.length < 3 && !basket.includes(p)) basket.push(p)
  check(basket.length === 3, 'the demo has fewer than 3 products with barcodes')

  const page = await sc.newPage({ width: 1280, height: 800 })
  mkdirSync(dir, { recursive: true })
  await sc.step('login', () => login(sc, DEMO_OWNER))
  await sc.step('cashier', async () => {
    await openFromMenu(sc, '/cashier')
    const pick = page.locator(sel('cashier-store-option')).first()
    const input = field(page, 'cashier-member-input')
    await Promise.race([pick.waitFor(), input.waitFor()])
    if (await pick.isVisible().catch(() => false)) await pick.click()
    await input.fill(member.phone)
    await input.press('Enter')
    await page.locator(sel('cashier-member-card')).waitFor()
    const items = field(page, 'cashier-item-input')
    for (const p of basket) {
      await items.fill(p.barcode)
      await items.press('Enter')
    }
    await eventually(async () => check((await page.locator(sel('cashier-line')).count()) === 3, 'three lines'), 'three lines')
    const max = page.locator(sel('cashier-points-max'))
    await eventually(async () => check(!(await page.locator(sel('cashier-total')).innerText()).includes('—'), 'no quote'), 'quote')
    if (await max.isEnabled().catch(() => false)) await max.click()
    await page.waitForLoadState('networkidle', { timeout: 5000 }).catch(() => {})
    await sleep(1500) // the last line's highlight fades, the quote settles
    await page.mouse.move(0, 0)
    await page.screenshot({ path: join(dir, 'cashier.png') })
    console.log(`wrote ${join(dir, 'cashier.png')}`)
  })
  await sc.step('member', async () => {
    await gotoApp(sc, `/members/${member.id}`)
    await page.locator(sel('member-points')).waitFor()
    await page.waitForLoadState('networkidle', { timeout: 5000 }).catch(() => {})
    await sleep(500) // charts draw
    await page.screenshot({ path: join(dir, 'member.png') })
    console.log(`wrote ${join(dir, 'member.png')}`)
  })
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  if (!existsSync(opts.patron)) {
    console.log(`FAIL setup: no patron binary at ${opts.patron}`)
    console.log('e2e: 0 passed, 1 failed')
    return 1
  }
  if (!existsSync(opts.chromium)) {
    console.log(`FAIL setup: Chromium is missing (${opts.chromium}); install it with: apt-get install -y chromium (scripts/install-deps.sh does)`)
    console.log('e2e: 0 passed, 1 failed')
    return 1
  }
  const dir = mkdtempSync(join(tmpdir(), 'patron-e2e-'))
  const server = new Server(opts.patron, dir, opts.port || (await freePort()))
  let browser = null
  let passed = 0
  let failed = 0
  const deadline = setTimeout(() => {
    console.log(`FAIL ${ctx?.running?.name ?? 'setup'}: the run took longer than ${RUN_DEADLINE_MS / 1000} s; stopping`)
    server.proc?.kill('SIGKILL')
    console.log(`e2e: ${passed} passed, ${failed + 1} failed`)
    process.exit(1)
  }, RUN_DEADLINE_MS)
  let ctx = null
  try {
    if (opts.screenshots) {
      server.run(['init', '--db', server.db, '--owner-password', DEMO_OWNER.password, '--demo'])
    } else {
      server.run(['init', '--db', server.db, '--owner-username', OWNER.username, '--owner-password', OWNER.password])
      server.run(['staff', 'add', '--username', CASHIER.username, '--role', 'cashier', '--password', CASHIER.password, '--db', server.db])
    }
    await server.start({ requireConsole: !opts.url })
    browser = await chromium.launch({
      executablePath: opts.chromium,
      headless: !opts.headed,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
      timeout: 30_000,
    })
    ctx = { browser, server, url: opts.url || server.base, verbose: !!process.env.E2E_VERBOSE }
    console.log(`e2e: patron at ${server.base}, console at ${ctx.url}, data in ${dir}`)

    if (opts.screenshots) {
      const sc = new Scenario('screenshots', ctx)
      ctx.running = sc
      try {
        await withTimeout(screenshots(ctx, sc, resolve(opts.screenshots)), 90_000, 'screenshots')
        passed++
      } catch (e) {
        failed++
        await report(sc, e)
      } finally {
        await sc.close()
      }
    } else {
      ctx.owner = await new Api(server.base).login(OWNER)
      const chosen = opts.only ? SCENARIOS.filter((s) => opts.only.includes(s.name)) : SCENARIOS
      if (opts.only && chosen.length !== opts.only.length) usage(`unknown scenario in --only; there are: ${SCENARIOS.map((s) => s.name).join(', ')}`)
      for (const s of chosen) {
        const sc = new Scenario(s.name, ctx)
        ctx.running = sc
        const start = Date.now()
        try {
          // The cashier scenarios need the owner's data even when the owner scenario failed
          // or was left out.
          if (s.name !== 'login-wrong-password' && s.name !== 'owner-setup') await ensureFixture(ctx.owner)
          await withTimeout(s.fn(sc), SCENARIO_MS, s.name)
          const pageErrors = sc.errors.filter((e) => e.startsWith('page error'))
          check(pageErrors.length === 0, `uncaught errors in the page:\n  ${pageErrors.join('\n  ')}`)
          passed++
          console.log(`ok   ${s.name} (${((Date.now() - start) / 1000).toFixed(1)} s)${sc.summary ? ` — ${sc.summary}` : ''}`)
        } catch (e) {
          failed++
          await report(sc, e)
          if (ctx.cashier && sc.page === ctx.cashier.page) ctx.cashierDirty = true
        } finally {
          await sc.close()
        }
      }
    }
  } catch (e) {
    failed++
    console.log(`FAIL setup: ${e.stack ?? e}`)
  } finally {
    clearTimeout(deadline)
    await browser?.close().catch(() => {})
    await server.stop()
    if (failed) console.log(`server log (last lines of ${server.log}):\n${server.tail(15)}`)
    if (!opts.keep) rmSync(dir, { recursive: true, force: true })
  }
  console.log(`e2e: took ${elapsed()}`)
  console.log(`e2e: ${passed} passed, ${failed} failed`)
  return failed ? 1 : 0
}

async function report(sc, e) {
  console.log(`FAIL ${sc.name} at step "${sc.current}": ${e.message ?? e}`)
  const shot = await sc.screenshot()
  if (shot) console.log(`     screenshot: ${shot}`)
  if (sc.page) console.log(`     page: ${sc.page.url()}`)
  for (const err of sc.errors.slice(0, 10)) console.log(`     ${err}`)
}

// A promise nobody waits for any more (a step that failed first) must not end the run.
process.on('unhandledRejection', (e) => {
  if (process.env.E2E_VERBOSE) console.error(`(ignored late rejection: ${e?.message ?? e})`)
})

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e)
    console.log('e2e: 0 passed, 1 failed')
    process.exit(1)
  },
)
