// Pieces several screens share: the card a screen lives in, notices, the support contact
// from the server's meta, and the "back to sign in" link.
import { openLink } from "../api";
import type { ServerInfo } from "../bindings/ServerInfo";
import type { Ctx } from "../context";
import { h, linkButton } from "../dom";
import { t } from "../i18n";
import type { Notice, ScreenName } from "../views";

/** The root of a screen: `data-screen` names it for tests; `wide` for the account pages. */
export function card(name: ScreenName, wide: boolean, ...children: Array<Node | null>): HTMLElement {
  const section = h("section", { class: wide ? "card wide" : "card", "data-screen": name });
  for (const child of children) if (child) section.append(child);
  return section;
}

/** A success / information / warning notice (announced politely), or null. */
export function notice(value: Notice | null): HTMLElement | null {
  if (value === null) return null;
  return h("div", { class: `notice ${value.tone}`, role: "status", "data-testid": "notice" }, t(value.key));
}

/** A short paragraph under the heading. */
export function lead(text: string): HTMLParagraphElement {
  return h("p", { class: "lead" }, text);
}

/**
 * A link to a web address the server published, opened in the system browser by the
 * Rust side (the web view itself never leaves the app). Enter and click both work, as
 * on any link.
 */
export function externalLink(url: string, label: string, attrs: Record<string, string> = {}): HTMLAnchorElement {
  const link = h("a", { ...attrs, href: url, rel: "noopener noreferrer" }, label);
  link.addEventListener("click", (event) => {
    event.preventDefault();
    void openLink(url).catch((error: unknown) => console.error("cannot open the link", error));
  });
  return link;
}

/** "Need help?" with the phone, e-mail and web address IT published, or null. */
export function supportBlock(server: ServerInfo | null): HTMLElement | null {
  const support = server?.support;
  if (!support || (support.phone === null && support.email === null && support.url === null)) return null;
  const list = h("dl", { class: "support-list" });
  const add = (label: string, value: Node | string | null) => {
    if (value !== null) list.append(h("dt", {}, label), h("dd", { class: "selectable" }, value));
  };
  add(t("support.phone"), support.phone);
  add(t("support.email"), support.email);
  add(t("support.url"), support.url === null ? null : externalLink(support.url, support.url, { "data-testid": "support-link" }));
  return h(
    "aside",
    { class: "support", "data-testid": "support" },
    h("h2", {}, t("support.title")),
    h("p", { class: "muted" }, t("support.text")),
    list,
  );
}

/** "Back to sign in" — abandons the current flow. */
export function backToSignIn(ctx: Ctx, label = t("common.back_to_sign_in")): HTMLButtonElement {
  const button = linkButton(label, { "data-testid": "back-to-sign-in" });
  button.addEventListener("click", () =>
    ctx.go({ screen: "sign_in", identifier: ctx.identifier, remember: true, notice: null }),
  );
  return button;
}

/** A row of secondary actions under a form. */
export function actions(...children: Array<Node | null>): HTMLDivElement {
  const row = h("div", { class: "actions" });
  for (const child of children) if (child) row.append(child);
  return row;
}
