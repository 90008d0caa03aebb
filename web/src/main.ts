import { createApp } from 'vue'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import './styles.css'
import App from './App.vue'
import { i18n } from './i18n'
import { router } from './router'
import { setApiLanguage, setUnauthenticatedHandler } from './api/client'
import { useSession } from './stores/session'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia).use(i18n).use(router).use(ElementPlus)

setApiLanguage(i18n.global.locale.value)
document.documentElement.lang = i18n.global.locale.value
// An expired session sends the user back to the sign-in page, then to where they were.
setUnauthenticatedHandler(() => {
  useSession(pinia).forget()
  const here = router.currentRoute.value
  if (here.name !== 'login') router.replace({ name: 'login', query: { next: here.fullPath } })
})
app.mount('#app')
