// A password reset link opened in the middle of a sign-in (or of another reset): the
// app names the account the link resets (masked, as the server tells it) and asks
// before it throws that away. A link that cannot be used is said so here, at once.
import { resetLinkAnswer } from "../api";
import { errorRegion } from "../components/errors";
import type { Ctx } from "../context";
import { button, h, heading, runBusy } from "../dom";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { card, lead } from "./common";

export function resetLinkScreen(ctx: Ctx, view: ViewOf<"reset_link">): HTMLElement {
  const errors = errorRegion();
  if (view.error !== null || view.account === null) {
    const back = button(t("reset_link.back"), { "data-testid": "reset-link-back" });
    back.addEventListener("click", () => ctx.go(view.previous));
    const screen = card("reset_link", false, heading(t("reset_link.invalid_title")), errors.element, h("div", { class: "buttons" }, back));
    if (view.error !== null) errors.show(view.error);
    return screen;
  }
  const account = view.account;
  const open = button(t("reset_link.open"), { "data-testid": "reset-link-open" });
  const keep = button(t("reset_link.keep"), { "data-testid": "reset-link-keep" }, "secondary");
  const row = h("div", { class: "buttons" }, open, keep);
  const answer = (yes: boolean, busy: HTMLButtonElement) =>
    void runBusy(row, busy, async () => {
      errors.clear();
      try {
        await resetLinkAnswer(yes);
        ctx.go(yes ? { screen: "reset_password", methods: view.methods, fromLink: true, account } : view.previous);
      } catch (error) {
        ctx.fail(error, errors);
      }
    });
  open.addEventListener("click", () => answer(true, open));
  keep.addEventListener("click", () => answer(false, keep));
  return card(
    "reset_link",
    false,
    heading(t("reset_link.title")),
    lead(t("reset_link.lead", { account: view.account })),
    errors.element,
    row,
  );
}
