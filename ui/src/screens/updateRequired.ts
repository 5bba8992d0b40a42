// The server no longer accepts this version of the app: the minimum version, the
// installed one and where to download the update (or whom to ask).
import { appVersion } from "../api";
import type { Ctx } from "../context";
import { button, h, heading } from "../dom";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { card, lead, supportBlock } from "./common";

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
    // The Rust side opens external links in the system browser (not in this window).
    download = h(
      "div",
      { class: "download" },
      h("a", { class: "button primary", href: view.downloadUrl, target: "_blank", rel: "noopener noreferrer", "data-testid": "download-link" }, t("update.download")),
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
