// The server no longer accepts this version of the app: the minimum version, the
// installed one and where to download the update (or whom to ask).
import { appVersion } from "../api";
import type { Ctx } from "../context";
import { button, h, heading } from "../dom";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { card, externalLink, lead, supportBlock } from "./common";

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

  let download: HTMLElement;
  if (view.downloadUrl !== null) {
    // Opened in the system browser by the Rust side (open_link), not in this window.
    download = h(
      "div",
      { class: "download" },
      externalLink(view.downloadUrl, t("update.download"), { class: "button primary", "data-testid": "download-link" }),
      h("p", { class: "muted small selectable" }, view.downloadUrl),
    );
  } else {
    download = h("p", {}, t("update.ask_it"));
  }
  const check = button(t("update.check_again"), { "data-testid": "update-retry" }, "secondary");
  check.addEventListener("click", () => void ctx.restart());

  return card(
    "update_required",
    false,
    heading(t("update.title")),
    lead(view.minVersion === null ? t("update.lead") : t("update.lead_version", { version: view.minVersion })),
    installed,
    download,
    h("div", { class: "buttons" }, check),
    supportBlock(ctx.server),
  );
}
