// Dev-only preview of every screen with canned IPC answers (see preview.html). Not
// imported by the app, not in the production build.
import "../src/style.css";
import { mockIPC } from "@tauri-apps/api/mocks";
import { App } from "../src/app";
import type { AppError } from "../src/bindings/AppError";
import type { Code } from "../src/bindings/Code";
import type { NextStep } from "../src/bindings/NextStep";
import type { Strength } from "../src/bindings/Strength";
import type { ServerInfo } from "../src/bindings/ServerInfo";
import { setLocale, type Locale } from "../src/i18n";
import type { View } from "../src/views";

const params = new URLSearchParams(location.search);
const lang = (params.get("lang") ?? "en") as Locale;
const screen = params.get("screen") ?? "sign_in";
const variant = params.get("variant") ?? "";

const server: ServerInfo = {
  url: "https://login.corp.example.cn",
  server_name: lang === "zh-CN" ? "华东制造集团" : "Acme Manufacturing",
  support: { phone: "+86 21 5555 0100", email: "it-help@corp.example.cn", url: "https://help.corp.example.cn" },
  min_length: 12,
  max_length: 128,
  recovery_channels: ["email", "sms"],
  offline_days: 7,
  provisioned: false,
};
const account = {
  display_name: lang === "zh-CN" ? "张伟" : "Zhang Wei",
  email: "zhang.wei@corp.example.cn",
  phone: "+86 138 0013 8000",
  username: "zwei",
  organisation: lang === "zh-CN" ? "华东制造集团 · 财务部" : "Acme Manufacturing · Finance",
  mfa_enabled: variant !== "nomfa",
};
const error = (code: Code, next_step: NextStep, extra: Partial<AppError> = {}): AppError => ({
  code, next_step, retry_after: null, message: null, until: null, min_version: null, download_url: null, reasons: [], suggestions: [], attempts_left: null, ...extra,
});

function qr(): string {
  let cells = "";
  let seed = 7;
  for (let y = 0; y < 29; y += 1)
    for (let x = 0; x < 29; x += 1) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const finder = (x < 7 && y < 7) || (x > 21 && y < 7) || (x < 7 && y > 21);
      const on = finder ? (x % 6 === 0 || y % 6 === 0 || (x % 6 > 1 && x % 6 < 5 && y % 6 > 1 && y % 6 < 5) || x === 28 || y === 28 || x === 22 || y === 22) : seed % 3 === 0;
      if (on) cells += `<rect x="${x}" y="${y}" width="1" height="1"/>`;
    }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="-2 -2 33 33" width="200" height="200"><rect x="-2" y="-2" width="33" height="33" fill="#fff"/><g fill="#000">${cells}</g></svg>`;
}
const setup = { qr_svg: qr(), secret_groups: ["JBSW", "Y3DP", "EHPK", "3PXP", "JBSW", "Y3DP", "EHPK", "3PXP"], issuer: server.server_name, account: account.email };
const codes = ["4f7k-2m9q", "h8d3-xw6p", "9ta2-kq5n", "c7m4-r2vz", "p3w8-n6yb", "e5q9-j4td", "v2x7-m8kc", "s6n3-b9fh", "k4r2-w7ga", "z8t5-q3ue"];
const now = Date.now();
const iso = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
const details = {
  summary: account,
  password_expires_at: new Date(now + 40 * 86400_000).toISOString(),
  recovery_codes_left: 8,
  sessions: [
    { id: "s1", device_name: "ZHANGWEI-PC", platform: "Windows 11", address: "10.2.14.33", created_at: iso(60 * 30), last_used_at: iso(1), current: true },
    { id: "s2", device_name: "MacBook Pro", platform: "macOS 14", address: "203.0.113.7", created_at: iso(60 * 24 * 9), last_used_at: iso(60 * 20), current: false },
  ],
  activity: [
    { at: iso(2), kind: "sign_in", device_name: "ZHANGWEI-PC", address: "10.2.14.33", result: "ok" },
    { at: iso(60 * 5), kind: "sign_in_failed", device_name: "ZHANGWEI-PC", address: "10.2.14.33", result: "invalid_credentials" },
    { at: iso(60 * 26), kind: "totp_enabled", device_name: "MacBook Pro", address: "203.0.113.7", result: null },
    { at: iso(60 * 24 * 9), kind: "new_device", device_name: "MacBook Pro", address: "203.0.113.7", result: null },
  ],
};

mockIPC(
  (cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    switch (cmd) {
      case "app_version": return "0.1.0";
      case "password_strength": {
        const pw = String(a.password ?? "");
        const score = Math.min(4, Math.floor(pw.length / 4));
        const strength: Strength = { score, accepted: score >= 3, too_long: false, reasons: score >= 3 ? [] : ["too_short", "common_password"], suggestions: score >= 3 ? [] : ["use_longer_password", "add_another_word"] };
        return strength;
      }
      case "account_details": return variant === "offline" ? Promise.reject(error("no_network", "check_network")) : details;
      case "server_test": return server;
      case "sign_in": return Promise.reject(error("invalid_credentials", "reset_password", { attempts_left: 2 }));
      default: return Promise.reject(error("no_network", "check_network"));
    }
  },
  { shouldMockEvents: true },
);

const views: Record<string, View> = {
  loading: { screen: "loading" },
  startup_error: { screen: "startup_error", error: error("dns_failed", "check_server_address") },
  server_setup: { screen: "server_setup", suggestedUrl: null, canCancel: false },
  sign_in: { screen: "sign_in", identifier: variant === "remembered" ? "zhang.wei@corp.example.cn" : null, remember: true, notice: variant === "notice" ? { key: "reset.done", tone: "success" } : null },
  second_factor: { screen: "second_factor", methods: ["totp", "recovery_code"], method: "totp" },
  device_code: { screen: "device_code", destination: "z***@corp.example.cn", channel: "email", expiresAt: now + 600_000 },
  forced_change: { screen: "forced_change", reason: "temporary", totp: account.mfa_enabled },
  offer_totp: { screen: "offer_totp" },
  totp_setup: { screen: "totp_setup", setup, mode: "first_time" },
  recovery_codes: { screen: "recovery_codes", codes, mode: "first_time" },
  reset_start: { screen: "reset_start", identifier: "zhang.wei@corp.example.cn" },
  reset_code: { screen: "reset_code", identifier: "zhang.wei@corp.example.cn", channel: "email", resendAt: now + 42_000, expiresAt: now + 600_000 },
  reset_password: {
    screen: "reset_password",
    methods: ["totp", "recovery_code"],
    fromLink: variant === "link",
    account: variant === "link" ? "z***@corp.example.cn" : null,
  },
  reset_link: {
    screen: "reset_link",
    previous: { screen: "sign_in", identifier: null, remember: true, notice: null },
    account: variant === "invalid" ? null : "z***@corp.example.cn",
    methods: [],
    error: variant === "invalid" ? error("session_expired", "start_over") : null,
  },
  locked: { screen: "locked", until: now + 14 * 60_000 + 32_000 },
  maintenance: { screen: "maintenance", message: lang === "zh-CN" ? "系统升级中，预计 22:00 恢复。给您带来不便，敬请谅解。" : "We are upgrading the sign-in service. Thank you for your patience.", until: new Date(now + 3 * 3600_000).toISOString() },
  update_required: { screen: "update_required", minVersion: "1.4.0", downloadUrl: "https://download.corp.example.cn/latchkey/latchkey-1.4.0.msi" },
  account: { screen: "account", notice: null },
  account_password: { screen: "account_password" },
  totp_disable: { screen: "totp_disable" },
  regenerate_codes: { screen: "regenerate_codes" },
};

setLocale(lang);
const root = document.getElementById("app");
if (root) {
  const app = new App(root);
  app.server = server;
  app.identifier = "zhang.wei@corp.example.cn";
  if (["account", "account_password", "totp_disable", "regenerate_codes", "recovery_codes"].includes(screen)) {
    app.signedIn = { account, offline: variant === "offline", remembered: true, keychainAvailable: variant !== "nokeychain" };
  }
  app.go(views[screen] ?? views.sign_in!);
  // States that need an interaction: an error shown, a strength verdict.
  if (variant === "error") {
    const form = root.querySelector("form");
    for (const input of root.querySelectorAll<HTMLInputElement>("input[type=text], input[type=password]")) input.value = "x";
    form?.requestSubmit();
  }
  if (variant === "typed") {
    const pw = root.querySelector<HTMLInputElement>("input[autocomplete=new-password]");
    if (pw) { pw.value = "woaini1314"; pw.dispatchEvent(new Event("input")); }
  }
  if (variant === "typed-ok") {
    const [pw, confirm] = Array.from(root.querySelectorAll<HTMLInputElement>("input[autocomplete=new-password]"));
    if (pw && confirm) { pw.value = "plum river lantern 42"; confirm.value = "plum river lantern 42"; pw.dispatchEvent(new Event("input")); confirm.dispatchEvent(new Event("input")); }
  }
}
