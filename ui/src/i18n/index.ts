// The UI's strings: one JSON catalog per locale, English as the reference that every
// other catalog must match key for key (checked by the compiler and by app.test.ts).
import en from "./en.json";
import zhCN from "./zh-CN.json";

export type Locale = "en" | "zh-CN";
export type MessageKey = keyof typeof en;
type Catalog = Record<MessageKey, string>;

export const catalogs: Record<Locale, Catalog> = { en, "zh-CN": zhCN };

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
export function translate(
  locale: Locale,
  key: MessageKey,
  params: Readonly<Record<string, string>> = {},
): string {
  return catalogs[locale][key].replace(/\{(\w+)\}/g, (whole, name: string) => params[name] ?? whole);
}
