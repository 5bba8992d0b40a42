// Vite serves the UI to the Tauri web view: `tauri.conf.json` points `build.devUrl` at
// port 1420 and `build.frontendDist` at `ui/dist`, so both numbers are fixed here.
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Tauri prints its own errors; keep Vite from clearing them away.
  clearScreen: false,
  server: {
    port: 1420,
    strictPort: true,
    host: "localhost",
    // Rebuilding the Rust side must not reload the page.
    watch: { ignored: ["**/src-tauri/**", "**/target/**"] },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // The web views Tauri 2 supports: WebView2 (Chromium), WebKitGTK and WKWebView on
    // macOS 10.15+ (Safari 13+).
    target: ["es2021", "chrome105", "safari13"],
    // Every asset is a file of its own: the CSP forbids `data:` scripts and inline styles.
    assetsInlineLimit: 0,
  },
  test: {
    environment: "happy-dom",
    include: ["src/**/*.test.ts"],
  },
});
