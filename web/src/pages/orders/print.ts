// Printing a receipt on an 80 mm roll. The stylesheet asks for `@page { size: 80mm auto }`,
// which browsers do not all honour (Chromium ignores an "auto" height), so the print button
// also measures the receipt and asks for a page exactly that long, through a constructed
// stylesheet (CSSOM, allowed under the console's CSP), removed again after printing.

const PX_PER_MM = 96 / 25.4

function receiptHeightMm(): number | null {
  const root = document.querySelector<HTMLElement>('.receipt-print-root')
  const receipt = root?.firstElementChild as HTMLElement | null
  if (!root || !receipt) return null
  const saved = { display: root.style.display, position: root.style.position, left: root.style.left, top: root.style.top }
  root.style.display = 'block'
  root.style.position = 'absolute'
  root.style.left = '-10000px'
  root.style.top = '0'
  const h = receipt.getBoundingClientRect().height
  Object.assign(root.style, saved)
  return h > 0 ? Math.ceil(h / PX_PER_MM) + 6 : null
}

export function printReceipt() {
  let sheet: CSSStyleSheet | null = null
  try {
    const mm = receiptHeightMm()
    if (mm && 'adoptedStyleSheets' in document && typeof CSSStyleSheet !== 'undefined') {
      sheet = new CSSStyleSheet()
      sheet.replaceSync(`@page { size: 80mm ${mm}mm; margin: 0; }`)
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet]
    }
  } catch {
    sheet = null
  }
  const cleanup = () => {
    if (sheet) document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== sheet)
    sheet = null
    window.removeEventListener('afterprint', cleanup)
  }
  window.addEventListener('afterprint', cleanup)
  window.print()
}
