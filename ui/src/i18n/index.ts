// The UI's strings: one JSON catalog per locale, English as the reference that every
// other catalog must match key for key (checked by the compiler and by i18n.test.ts).
//
// The current locale is module state: screens call `t()` while they render and the app
// re-renders the current screen when the user switches language. Only the locale tag is
// remembered (in localStorage) — nothing else the UI knows is ever stored by it.
import en from "./en.json";
import zhCN from "./zh-CN.json";

export type Locale = "en" | "zh-CN";
export type MessageKey = keyof typeof en;
type Catalog = Record<MessageKey, string>;
type Params = Readonly<Record<string, string | number>>;

export const catalogs: Record<Locale, Catalog> = { en, "zh-CN": zhCN };
export const locales: readonly Locale[] = ["zh-CN", "en"];

const STORAGE_KEY = "latchkey.locale";

/**
 * The first supported locale among the user's preferences (`navigator.languages`, which
 * follows the OS locale in the web view). Every Chinese tag maps to zh-CN, the only
 * Chinese catalog; anything unknown falls back to English.
 */
export function detectLocale(preferred: readonly string[]): Locale {
  for (const tag of preferred) {
    const language = tag.toLowerCase().split("-")[0];
    if (language === "zh") return "zh-CN";
    if (language === "en") return "en";
  }
  return "en";
}

/** The message `key` in `locale`, with each `{name}` replaced by `params[name]`. */
export function translate(locale: Locale, key: MessageKey, params: Params = {}): string {
  return catalogs[locale][key].replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : String(value);
  });
}

let current: Locale = "en";

/** The locale the UI speaks now. */
export function currentLocale(): Locale {
  return current;
}

/** Switches the UI's language (remembered when `remember`), and the document's `lang`. */
export function setLocale(locale: Locale, remember = false): void {
  current = locale;
  document.documentElement.lang = locale;
  if (remember) {
    try {
      localStorage.setItem(STORAGE_KEY, locale);
    } catch {
      // Storage may be unavailable; the choice then lasts for this run only.
    }
  }
}

/** The remembered choice, else the OS preference. */
export function initialLocale(preferred: readonly string[]): Locale {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored === "en" || stored === "zh-CN") return stored;
  } catch {
    // Fall through to the OS locale.
  }
  return detectLocale(preferred);
}

/** `key` in the current locale. */
export function t(key: MessageKey, params: Params = {}): string {
  return translate(current, key, params);
}

/** Whether `key` is a message of the catalogs (for codes that come from the Rust side). */
export function hasKey(key: string): key is MessageKey {
  return Object.prototype.hasOwnProperty.call(catalogs.en, key);
}

/**
 * The message for a code that comes from outside (`errors.<code>`, `activity.<kind>`…):
 * `prefix + code` when the catalogs know it, else `fallback` — never the raw key.
 */
export function tCode(prefix: string, code: string, fallback: MessageKey, params: Params = {}): string {
  const key = prefix + code;
  return hasKey(key) ? t(key, params) : t(fallback, params);
}

/** A date-time from RFC 3339, in the current locale; the raw text if it does not parse. */
export function formatDateTime(value: string): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return new Intl.DateTimeFormat(current, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

/** A date from RFC 3339, in the current locale. */
export function formatDate(value: string): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return new Intl.DateTimeFormat(current, { dateStyle: "long" }).format(date);
}

/** Seconds as `m:ss` (or `h:mm:ss` from an hour on) — the countdowns' format. */
export function formatClock(totalSeconds: number): string {
  const s = Math.max(0, Math.ceil(totalSeconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = String(s % 60).padStart(2, "0");
  if (hours > 0) return `${hours}:${String(minutes).padStart(2, "0")}:${seconds}`;
  return `${String(minutes).padStart(2, "0")}:${seconds}`;
}

/** A duration in words for messages ("3 minutes", "45 seconds"), rounded up. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(1, Math.ceil(totalSeconds));
  if (s < 60) return t("time.seconds", { n: s });
  const minutes = Math.ceil(s / 60);
  if (minutes < 120) return t("time.minutes", { n: minutes });
  return t("time.hours", { n: Math.ceil(minutes / 60) });
}
