// Test helpers: a mocked Tauri IPC that records the commands the UI sends, canned
// answers, and an app mounted in the document.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { vi } from "vitest";
import { App } from "../app";
import type { AccountDetails } from "../bindings/AccountDetails";
import type { AppError } from "../bindings/AppError";
import type { Code } from "../bindings/Code";
import { NEXT_STEP } from "../bindings/codes";
import type { ServerInfo } from "../bindings/ServerInfo";
import { setLocale, type Locale } from "../i18n";
import type { View } from "../views";

export interface Call {
  cmd: string;
  args: Record<string, unknown>;
}

type Answer = unknown | ((args: Record<string, unknown>) => unknown);

/** Mocks the IPC: `answers[cmd]` (a value, or a function of the args) answers `cmd`. */
export function ipc(answers: Record<string, Answer>): Call[] {
  const calls: Call[] = [];
  mockIPC(
    (cmd, payload) => {
      const args = (payload ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      if (!(cmd in answers)) throw new Error(`unexpected command ${cmd}`);
      const answer = answers[cmd];
      return typeof answer === "function" ? (answer as (a: Record<string, unknown>) => unknown)(args) : answer;
    },
    { shouldMockEvents: true },
  );
  return calls;
}

/** An `AppError` rejection for a mocked command. */
export function fail(code: Code, extra: Partial<AppError> = {}): () => Promise<never> {
  return () => Promise.reject(appError(code, extra));
}

/**
 * An `AppError` as Rust sends it: `code`, its usual `next_step` (generated from
 * `latchkey_proto::Code`, so fixtures carry the advice the app really gets), the rest empty.
 */
export function appError(code: Code, extra: Partial<AppError> = {}): AppError {
  return {
    code,
    next_step: NEXT_STEP[code],
    retry_after: null,
    message: null,
    until: null,
    min_version: null,
    download_url: null,
    reasons: [],
    suggestions: [],
    attempts_left: null,
    ...extra,
  };
}

export const SERVER: ServerInfo = {
  url: "https://login.corp.example",
  server_name: "Corp Sign-in",
  support: { phone: "+86 10 1234 5678", email: "it@corp.example", url: "https://help.corp.example" },
  min_length: 12,
  max_length: 128,
  recovery_channels: ["email", "sms"],
  offline_days: 7,
  provisioned: false,
};

export const ACCOUNT = {
  display_name: "Zhang Wei",
  email: "zhang.wei@corp.example",
  phone: null,
  username: "zwei",
  organisation: "Corp",
  mfa_enabled: false,
};

/** Lets pending promises (IPC answers) settle, with real or fake timers. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i += 1) {
    if (vi.isFakeTimers()) await vi.advanceTimersByTimeAsync(0);
    else await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/** An app in the document showing `view` (no `app_start`), with `server` configured. */
export function showView(view: View, locale: Locale = "en", server: ServerInfo | null = SERVER): { app: App; root: HTMLElement } {
  document.body.replaceChildren();
  const root = document.createElement("div");
  document.body.append(root);
  setLocale(locale);
  const app = new App(root);
  app.server = server;
  app.go(view);
  return { app, root };
}

export function reset(): void {
  clearMocks();
  vi.useRealTimers();
  vi.restoreAllMocks();
  document.body.replaceChildren();
  localStorage.clear();
}

/** The input whose `autocomplete` is `token` (how the end-to-end tests find fields). */
export function byAutocomplete(root: ParentNode, token: string, index = 0): HTMLInputElement {
  const inputs = root.querySelectorAll<HTMLInputElement>(`input[autocomplete="${token}"]`);
  const input = inputs[index];
  if (!input) throw new Error(`no input with autocomplete=${token} #${index}`);
  return input;
}

export function byTestId<E extends HTMLElement = HTMLElement>(root: ParentNode, id: string): E {
  const element = root.querySelector<E>(`[data-testid="${id}"]`);
  if (!element) throw new Error(`no element with data-testid=${id}`);
  return element;
}

export function screenName(root: ParentNode): string | null {
  return root.querySelector("[data-screen]")?.getAttribute("data-screen") ?? null;
}

/** Types `value` into `input` (sets it and fires `input`). */
export function type(input: HTMLInputElement, value: string): void {
  input.value = value;
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

/** Submits the form around `element` the way Enter would. */
export function submit(element: Element): void {
  const form = element.closest("form");
  if (!form) throw new Error("no form");
  form.requestSubmit();
}

/** What `account_details` answers for ACCOUNT with two-factor on. */
export const DETAILS: AccountDetails = {
  summary: { ...ACCOUNT, mfa_enabled: true },
  keychain_available: true,
  two_factor_required_by: null,
  password_expiry_warning_days: 14,
  password_expires_at: "2030-06-01T00:00:00Z",
  recovery_codes_left: 7,
  sessions: [
    { id: "s1", device_name: "ZHANGWEI-PC", platform: "Windows 11", address: "10.0.0.2", created_at: "2030-01-01T00:00:00Z", last_used_at: "2030-01-02T00:00:00Z", current: true },
    { id: "s2", device_name: "MacBook", platform: "macOS", address: null, created_at: "2030-01-01T00:00:00Z", last_used_at: "2030-01-02T00:00:00Z", current: false },
  ],
  activity: [
    { at: "2030-01-02T00:00:00Z", kind: "sign_in_failed", device_name: "MacBook", address: "203.0.113.7", result: "invalid_credentials" },
    { at: "2030-01-01T00:00:00Z", kind: "some_future_event", device_name: null, address: null, result: null },
  ],
};
