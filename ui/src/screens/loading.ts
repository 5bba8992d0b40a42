// Shown while `app_start` runs (it may be refreshing a remembered session).
import type { Ctx } from "../context";
import { h } from "../dom";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { card } from "./common";

export function loadingScreen(_ctx: Ctx, _view: ViewOf<"loading">): HTMLElement {
  return card(
    "loading",
    false,
    h("div", { class: "loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), t("loading.text")),
  );
}
