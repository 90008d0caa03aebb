import { onBeforeUnmount, onMounted, ref } from 'vue'

/** True while the window is narrower than `width` pixels (a phone): pages show cards, not tables. */
export function useNarrow(width = 700) {
  const narrow = ref(window.innerWidth < width)
  function onResize() {
    narrow.value = window.innerWidth < width
  }
  onMounted(() => window.addEventListener('resize', onResize))
  onBeforeUnmount(() => window.removeEventListener('resize', onResize))
  return narrow
}
