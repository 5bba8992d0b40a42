// When `app_start` itself fails (and the error is not a screen of its own): what went
// wrong, the advice, and the ways out — try again or choose another server.
import type { Ctx } from "../context";
import { button, h, heading } from "../dom";
import { errorAdvice, errorMessage } from "../components/errors";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { actions, card, supportBlock } from "./common";

export function startupErrorScreen(ctx: Ctx, view: ViewOf<"startup_error">): HTMLElement {
  const advice = errorAdvice(view.error);
  const retry = button(t("common.try_again"), { "data-testid": "startup-retry", "data-autofocus": true });
  retry.addEventListener("click", () => void ctx.restart());
  let change: HTMLButtonElement | null = null;
  if (!ctx.server?.provisioned) {
    change = button(t("signin.change_server"), { "data-testid": "change-server" }, "secondary");
    change.addEventListener("click", () =>
      ctx.go({ screen: "server_setup", suggestedUrl: ctx.server?.url ?? null, canCancel: false }),
    );
  }
  return card(
    "startup_error",
    false,
    heading(t("startup.title")),
    h(
      "div",
      { class: "error", role: "alert", "data-testid": "error", "data-code": view.error.code },
      h("p", { class: "error-message" }, errorMessage(view.error)),
      advice === null ? null : h("p", { class: "error-advice" }, advice),
    ),
    actions(retry, change),
    supportBlock(ctx.server),
  );
}
