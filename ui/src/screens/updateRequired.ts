// The server no longer accepts this version of the app: the minimum version, the
// installed one and "Update now" when the server publishes a release this installation
// can install (a signed in-app update); otherwise where to download the update (or
// whom to ask), or, for a .deb/.rpm, that the package manager updates it.
import { appVersion, updateCheck } from "../api";
import type { UpdateOffer } from "../bindings/UpdateOffer";
import { installControl } from "../components/update";
import type { Ctx } from "../context";
import { button, h, heading } from "../dom";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { card, externalLink, lead, supportBlock } from "./common";

/**
 * The release the server offered for a view (asked once per showing of the screen), so
 * that the screen drawn again in another language shows it at once, with its error.
 */
const offered = new WeakMap<object, UpdateOffer>();

export function updateRequiredScreen(ctx: Ctx, view: ViewOf<"update_required">): HTMLElement {
  const installed = h("p", { class: "muted", "data-testid": "installed-version" }, t("update.installed", { version: "…" }));
  appVersion().then(
    (version) => {
      installed.textContent = t("update.installed", { version });
    },
    () => {
      installed.textContent = t("app.version_unknown");
    },
  );

  // Until the server says whether it has a release for this installation: the link
  // (or the release found before: drawn again in another language, with its error).
  const found = offered.get(view);
  const how = h("div", { class: "update-how", "aria-live": "polite" }, found === undefined ? fallback(view) : inApp(found));
  if (found === undefined) {
    updateCheck().then(
      (offer) => {
        if (offer === null) return;
        offered.set(view, offer);
        how.replaceChildren(inApp(offer));
      },
      () => undefined,
    );
  }
  const check = button(t("update.check_again"), { "data-testid": "update-retry" }, "secondary");
  check.addEventListener("click", () => void ctx.restart());

  return card(
    "update_required",
    false,
    heading(t("update.title")),
    lead(view.minVersion === null ? t("update.lead") : t("update.lead_version", { version: view.minVersion })),
    installed,
    how,
    h("div", { class: "buttons" }, check),
    supportBlock(ctx.server),
  );
}

/** The release to install here, with its notes. */
function inApp(offer: UpdateOffer): HTMLElement {
  return h(
    "div",
    { class: "download" },
    h("p", { "data-testid": "update-offered" }, t("update.offered", { version: offer.version })),
    offer.notes === null ? null : h("p", { class: "muted small selectable update-notes" }, offer.notes),
    installControl(offer, true),
  );
}

/** The download link IT configured, or whom to ask. */
function fallback(view: ViewOf<"update_required">): HTMLElement {
  if (view.downloadUrl === null) return h("p", {}, t("update.ask_it"));
  // Opened in the system browser by the Rust side (open_link), not in this window.
  return h(
    "div",
    { class: "download" },
    externalLink(view.downloadUrl, t("update.download"), { class: "button primary", "data-testid": "download-link" }),
    h("p", { class: "muted small selectable" }, view.downloadUrl),
  );
}
