// The start screen of the shell: the product name and the app's version. The real
// screens (server setup, sign in, …) replace it in a later issue.
import { appVersion } from "./api";
import { translate, type Locale, type MessageKey } from "./i18n";

/** Renders the start screen into `root`, in `locale`. Resolves once the version is shown. */
export async function mount(root: HTMLElement, locale: Locale): Promise<void> {
  const t = (key: MessageKey, params?: Record<string, string>) => translate(locale, key, params);
  document.documentElement.lang = locale;
  document.title = t("app.title");

  const title = text("h1", t("app.title"));
  const tagline = text("p", t("app.tagline"));
  const version = text("p", t("app.version_loading"));
  version.className = "version";
  root.replaceChildren(title, tagline, version);

  try {
    version.textContent = t("app.version", { version: await appVersion() });
  } catch (error) {
    // Not worth a dialog: the version is informational. Leave a trace for the developer.
    console.error("app_version failed", error);
    version.textContent = t("app.version_unknown");
  }
}

function text<K extends keyof HTMLElementTagNameMap>(tag: K, content: string): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  element.textContent = content;
  return element;
}
