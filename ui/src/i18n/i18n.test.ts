// The catalogs: same keys and placeholders in both, a message for every code the Rust
// side can send, locale detection and memory, fallbacks for unknown codes.
import { afterEach, describe, expect, it } from "vitest";
import { catalogs, detectLocale, formatClock, hasKey, initialLocale, setLocale, t, tCode, type Locale } from ".";

afterEach(() => {
  localStorage.clear();
  setLocale("en");
});

const LOCALES = Object.keys(catalogs) as Locale[];

const ERROR_CODES = [
  "no_network", "dns_failure", "connection_refused", "tls_error", "timeout", "proxy_error", "server_error",
  "insecure_url", "invalid_url", "not_latchkey", "maintenance", "client_outdated", "rate_limited",
  "account_locked", "account_disabled", "invalid_credentials", "code_invalid", "code_expired",
  "too_many_attempts", "token_invalid", "mfa_required", "password_rejected", "password_mismatch",
  "current_password_invalid", "totp_unavailable", "keychain_unavailable", "offline_expired",
  "offline_attempts_exceeded", "offline_unavailable", "session_ended", "not_configured", "internal",
];
const NEXT_STEPS = ["check_network", "check_server_address", "ask_it", "update_app", "wait", "try_again", "sign_in_online", "start_over"];
const REASONS = [
  "too_short", "too_long", "too_weak", "common_password", "contains_personal_info", "repeated_pattern",
  "keyboard_walk", "sequence", "date", "missing_class_lower", "missing_class_upper", "missing_class_digit",
  "missing_class_symbol", "reused_password",
];
const SUGGESTIONS = ["use_longer", "add_words", "avoid_personal_info", "avoid_common", "avoid_patterns", "avoid_dates", "add_classes"];
const ACTIVITY = ["sign_in", "sign_in_failed", "password_changed", "totp_enabled", "totp_disabled", "new_device"];
const SESSION_REASONS = ["refresh_revoked", "password_changed", "account_disabled", "signed_out_elsewhere"];

function placeholders(text: string): string[] {
  return Array.from(text.matchAll(/\{(\w+)\}/g), (m) => m[1] ?? "").sort();
}

describe("catalogs", () => {
  it("have the same keys in every locale", () => {
    const reference = Object.keys(catalogs.en).sort();
    for (const locale of LOCALES) expect(Object.keys(catalogs[locale]).sort(), locale).toEqual(reference);
  });

  it("have no empty message and the same placeholders in every locale", () => {
    for (const [key, english] of Object.entries(catalogs.en)) {
      for (const locale of LOCALES) {
        const message = catalogs[locale][key as keyof typeof catalogs.en];
        expect(message.trim(), `${locale} ${key}`).not.toBe("");
        expect(placeholders(message), `${locale} ${key}`).toEqual(placeholders(english));
      }
    }
  });

  it("the Chinese catalog is Chinese (no English left untranslated)", () => {
    const same = Object.entries(catalogs["zh-CN"]).filter(
      ([key, value]) => value === catalogs.en[key as keyof typeof catalogs.en] && /[a-z]{4}/i.test(value),
    );
    expect(same.map(([key]) => key)).toEqual(["app.title", "locale.en"]);
  });

  it.each([
    ["errors.", ERROR_CODES],
    ["nextstep.", NEXT_STEPS],
    ["strength.reason.", REASONS],
    ["strength.suggestion.", SUGGESTIONS],
    ["activity.", ACTIVITY],
    ["session.", SESSION_REASONS],
    ["channel.", ["email", "sms"]],
    ["forced.reason.", ["temporary", "expired"]],
  ])("has a message for every %s code in both languages", (prefix, codes) => {
    for (const code of codes) {
      expect(hasKey(prefix + code), prefix + code).toBe(true);
      for (const locale of LOCALES) {
        setLocale(locale);
        expect(tCode(prefix, code, "errors.unknown")).not.toContain(prefix);
      }
    }
  });
});

describe("lookup", () => {
  it("falls back to a generic message for unknown codes, never the raw key", () => {
    expect(tCode("errors.", "brand_new", "errors.unknown")).toBe("Something went wrong.");
    setLocale("zh-CN");
    expect(tCode("activity.", "brand_new", "activity.other")).toBe("安全事件");
    expect(hasKey("errors.constructor")).toBe(false);
    expect(hasKey("toString")).toBe(false);
  });

  it("fills placeholders", () => {
    expect(t("signin.server", { url: "https://x" })).toBe("Server: https://x");
  });

  it("formats countdowns as mm:ss", () => {
    expect(formatClock(0)).toBe("00:00");
    expect(formatClock(59.2)).toBe("01:00");
    expect(formatClock(905)).toBe("15:05");
    expect(formatClock(3725)).toBe("1:02:05");
  });
});

describe("locale", () => {
  it("follows the OS locale, falling back to English", () => {
    expect(detectLocale(["zh-CN", "en-US"])).toBe("zh-CN");
    expect(detectLocale(["zh-Hans-CN"])).toBe("zh-CN");
    expect(detectLocale(["en-GB", "zh-CN"])).toBe("en");
    expect(detectLocale(["fr-FR", "zh-TW"])).toBe("zh-CN");
    expect(detectLocale(["fr-FR"])).toBe("en");
    expect(detectLocale([])).toBe("en");
  });

  it("prefers the remembered choice, ignoring anything else stored", () => {
    expect(initialLocale(["zh-CN"])).toBe("zh-CN");
    setLocale("en", true);
    expect(initialLocale(["zh-CN"])).toBe("en");
    localStorage.setItem("latchkey.locale", "fr");
    expect(initialLocale(["zh-CN"])).toBe("zh-CN");
  });
});
