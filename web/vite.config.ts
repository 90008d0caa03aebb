import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'
import { fileURLToPath, URL } from 'node:url'

// The console is served by `patron serve` from assets embedded at build time; `npm run dev`
// proxies the API to a patron running on 127.0.0.1:8080.
export default defineConfig({
  plugins: [vue()],
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
  },
  server: { proxy: { '/api/': process.env.VITE_API ?? 'http://127.0.0.1:8080' } },
  test: { environment: 'jsdom', include: ['tests/unit/**/*.test.ts'] },
})
