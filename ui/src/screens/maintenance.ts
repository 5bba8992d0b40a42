// The server is under maintenance: its own message (in whatever language IT wrote it),
// the expected end in the user's locale, and "try again".
import type { Ctx } from "../context";
import { button, h, heading } from "../dom";
import { formatDateTime, t } from "../i18n";
import type { ViewOf } from "../views";
import { card, lead, supportBlock } from "./common";

export function maintenanceScreen(ctx: Ctx, view: ViewOf<"maintenance">): HTMLElement {
  const retry = button(t("common.try_again"), { "data-testid": "maintenance-retry" });
  retry.addEventListener("click", () => void ctx.restart());
  return card(
    "maintenance",
    false,
    heading(t("maintenance.title")),
    lead(t("maintenance.lead", { name: ctx.server?.server_name ?? t("maintenance.the_server") })),
    view.message === null ? null : h("blockquote", { class: "server-message", "data-testid": "maintenance-message" }, view.message),
    h(
      "p",
      { "data-testid": "maintenance-until" },
      view.until === null ? t("maintenance.until_unknown") : t("maintenance.until", { time: formatDateTime(view.until) }),
    ),
    h("div", { class: "buttons" }, retry),
    supportBlock(ctx.server),
  );
}
