// A password reset link opened in the middle of a sign-in (or of another reset): the
// app asks before it throws that away. Which account the link resets cannot be shown:
// the server has no way yet to tell it from the link's token.
import { resetLinkAnswer } from "../api";
import { errorRegion } from "../components/errors";
import type { Ctx } from "../context";
import { button, h, heading, runBusy } from "../dom";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { card, lead } from "./common";

export function resetLinkScreen(ctx: Ctx, view: ViewOf<"reset_link">): HTMLElement {
  const errors = errorRegion();
  const open = button(t("reset_link.open"), { "data-testid": "reset-link-open" });
  const keep = button(t("reset_link.keep"), { "data-testid": "reset-link-keep" }, "secondary");
  const row = h("div", { class: "buttons" }, open, keep);
  const answer = (yes: boolean, busy: HTMLButtonElement) =>
    void runBusy(row, busy, async () => {
      errors.clear();
      try {
        await resetLinkAnswer(yes);
        ctx.go(yes ? { screen: "reset_password", methods: null, fromLink: true } : view.previous);
      } catch (error) {
        ctx.fail(error, errors);
      }
    });
  open.addEventListener("click", () => answer(true, open));
  keep.addEventListener("click", () => answer(false, keep));
  return card("reset_link", false, heading(t("reset_link.title")), lead(t("reset_link.lead")), errors.element, row);
}
