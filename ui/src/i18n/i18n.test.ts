// The catalogs: same keys and placeholders in both, a message for every code the Rust
// side can send, locale detection and memory, fallbacks for unknown codes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CODES as RUST_CODES } from "../bindings/codes";
import { END_REASONS, UI_ONLY_CODES } from "../codes";
import { catalogs, detectLocale, formatClock, hasKey, initialLocale, setLocale, t, tCode, type Locale } from ".";

afterEach(() => {
  localStorage.clear();
  setLocale("en");
});

const LOCALES = Object.keys(catalogs) as Locale[];

// The codes come from the list Rust generates (bindings/codes.ts, from latchkey_proto's
// `Code`), the other unions from the files' text (ts-rs) at test time, so a code added
// on the Rust side without a message in either language fails here.
// Vitest runs in ui/ (`npm --prefix ui test`), like strings.test.ts.
const BINDINGS = join(process.cwd(), "src", "bindings");

/** The string literals of `export type <name> = "a" | "b" | …;` in bindings/<name>.ts. */
function unionMembers(name: string): string[] {
  const text = readFileSync(join(BINDINGS, `${name}.ts`), "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
  const match = new RegExp(`export type ${name} = ([^;]*);`).exec(text);
  if (!match?.[1]) throw new Error(`no union ${name} in bindings/${name}.ts`);
  const body = match[1];
  // Nothing but string literals joined by `|`: a change of shape must not go unnoticed.
  const rest = body.replace(/"[a-z0-9_]+"/g, "").replace(/[\s|]/g, "");
  if (rest !== "") throw new Error(`${name} is not a union of snake_case string literals: ${rest}`);
  return Array.from(body.matchAll(/"([a-z0-9_]+)"/g), (m) => m[1] ?? "");
}

/** The snake_case variants of `pub enum <name>` in a Rust file of the repository. */
function rustEnum(file: string, name: string): string[] {
  const text = readFileSync(join(process.cwd(), "..", file), "utf8");
  const match = new RegExp(`pub enum ${name} \\{([^}]*)\\}`).exec(text);
  if (!match?.[1]) throw new Error(`no enum ${name} in ${file}`);
  const body = match[1].replace(/\/\/.*$/gm, "");
  return Array.from(body.matchAll(/^\s*([A-Z][A-Za-z]*)\s*,?\s*$/gm), (m) =>
    (m[1] ?? "").replace(/[A-Z]/g, (c, i: number) => (i === 0 ? "" : "_") + c.toLowerCase()),
  );
}

const CODES: readonly string[] = RUST_CODES;
const NEXT_STEPS = unionMembers("NextStep");
const REASONS = unionMembers("PasswordReason");
const SUGGESTIONS = unionMembers("PasswordSuggestion");
const MFA_METHODS = unionMembers("MfaMethod");
const ACTIVITY = ["sign_in", "sign_in_failed", "password_changed", "totp_enabled", "totp_disabled", "new_device"];
const SESSION_REASONS = [...END_REASONS, "expired"];

/** `errors.*` keys that are not codes: variants of a code's message, and the fallback. */
const ERROR_VARIANTS = ["unknown", "rate_limited_later", "server_busy_later", "account_locked_later", "client_outdated_later", "attempts_left", "attempts_left_one"];

/** The keys of the English catalog that start with `prefix`, without it. */
function keysUnder(prefix: string): string[] {
  return Object.keys(catalogs.en)
    .filter((key) => key.startsWith(prefix))
    .map((key) => key.slice(prefix.length))
    .sort();
}

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

  it("reads the generated unions (sanity check of the parser)", () => {
    expect(CODES.length).toBeGreaterThan(30);
    expect([...CODES].sort()).toEqual(unionMembers("Code").sort());
    expect(CODES).toContain("session_expired");
    expect(NEXT_STEPS).toContain("choose_another_password");
    expect(REASONS).toContain("same_as_current");
    expect(SUGGESTIONS).toContain("predictable_substitutions_dont_help");
    expect(MFA_METHODS).toEqual(["totp", "recovery_code"]);
  });

  it("the UI's own codes are not Rust codes", () => {
    expect(UI_ONLY_CODES.filter((code) => CODES.includes(code))).toEqual([]);
  });

  it("the session-ended reasons are Rust's EndReason", () => {
    expect(rustEnum("crates/client/src/error.rs", "EndReason")).toEqual([...END_REASONS]);
  });

  it.each([
    ["errors.", [...CODES, ...UI_ONLY_CODES, ...ERROR_VARIANTS]],
    ["nextstep.", [...NEXT_STEPS, "unknown"]],
    ["strength.reason.", [...REASONS, "unknown"]],
    ["strength.suggestion.", [...SUGGESTIONS, "unknown"]],
  ])("has exactly the %s keys of the codes (no guessed code left over)", (prefix, codes) => {
    expect(keysUnder(prefix)).toEqual([...codes].sort());
  });

  it.each([
    ["errors.", [...CODES, ...UI_ONLY_CODES]],
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
