// New recovery codes (the old ones stop working): confirm with the password, then the
// recovery codes screen shows the new ten once.
import { recoveryCodesRegenerate } from "../api";
import { errorRegion } from "../components/errors";
import { passwordField } from "../components/password";
import type { Ctx } from "../context";
import { form, h, heading, linkButton } from "../dom";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { actions, card, lead } from "./common";

export function regenerateCodesScreen(ctx: Ctx, _view: ViewOf<"regenerate_codes">): HTMLElement {
  const errors = errorRegion();
  const password = passwordField(t("account.current_password"), "current-password", "current_password");
  const submit = h("button", { type: "submit", class: "button primary block", "data-testid": "regenerate-submit" }, t("regenerate.submit"));

  const formElement = form({ class: "stack" }, async () => {
    errors.clear();
    const secret = password.input.value;
    if (secret === "") {
      errors.showUi("password_required");
      return;
    }
    password.input.value = "";
    try {
      const codes = await recoveryCodesRegenerate(secret);
      ctx.go({ screen: "recovery_codes", codes, mode: "regenerate" });
    } catch (error) {
      ctx.fail(error, errors);
    }
  });
  formElement.append(password.wrapper, errors.element, submit);

  const cancel = linkButton(t("common.cancel"), { "data-testid": "account-back" });
  cancel.addEventListener("click", () => ctx.go({ screen: "account", notice: null }));
  return card("regenerate_codes", false, heading(t("regenerate.title")), lead(t("regenerate.lead")), formElement, actions(cancel));
}
