// Forced password change at sign-in: the administrator set a temporary password, or the
// password expired. The user cannot go on without choosing a new one.
import { forcedPasswordChange } from "../api";
import { errorRegion } from "../components/errors";
import { newPassword } from "../components/newPassword";
import type { Ctx } from "../context";
import { form, h, heading } from "../dom";
import { t, tCode } from "../i18n";
import type { ViewOf } from "../views";
import { actions, backToSignIn, card, lead } from "./common";

export function changePasswordScreen(ctx: Ctx, view: ViewOf<"change_password">): HTMLElement {
  const errors = errorRegion();
  const submit = h("button", { type: "submit", class: "button primary block", "data-testid": "change-password-submit" }, t("forced.submit"));
  const fields = newPassword(submit, ctx.server?.min_length ?? null);

  const formElement = form({ class: "stack" }, async () => {
    errors.clear();
    if (!fields.ready()) return;
    try {
      const step = await forcedPasswordChange(fields.password.value);
      fields.clear();
      ctx.step(step);
    } catch (error) {
      ctx.fail(error, errors);
    }
  });
  formElement.append(...fields.elements, errors.element, submit);

  return card(
    "change_password",
    false,
    heading(t("forced.title")),
    lead(tCode("forced.reason.", view.reason, "forced.reason.other")),
    formElement,
    actions(backToSignIn(ctx, t("common.cancel_sign_in"))),
  );
}
