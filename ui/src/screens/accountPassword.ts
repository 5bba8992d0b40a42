// Change password from the account page: the current password, then a new one with the
// strength meter and confirmation.
import { changePassword } from "../api";
import { errorRegion } from "../components/errors";
import { newPassword } from "../components/newPassword";
import { passwordField } from "../components/password";
import type { Ctx } from "../context";
import { form, h, heading, linkButton } from "../dom";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { actions, card } from "./common";

export function accountPasswordScreen(ctx: Ctx, _view: ViewOf<"account_password">): HTMLElement {
  const errors = errorRegion();
  const current = passwordField(t("account.current_password"), "current-password", "current_password");
  const submit = h("button", { type: "submit", class: "button primary block", "data-testid": "account-password-submit" }, t("account.change_password"));
  const fields = newPassword(submit, ctx.server?.min_length ?? null);

  const formElement = form({ class: "stack" }, async () => {
    errors.clear();
    if (current.input.value === "") {
      errors.showUi("password_required");
      return;
    }
    if (!fields.ready()) return;
    const currentValue = current.input.value;
    current.input.value = "";
    try {
      await changePassword(currentValue, fields.password.value);
      fields.clear();
      ctx.go({ screen: "account", notice: { key: "account.password_changed", tone: "success" } });
    } catch (error) {
      ctx.fail(error, errors);
    }
  });
  formElement.append(current.wrapper, ...fields.elements, errors.element, submit);

  const cancel = linkButton(t("common.cancel"), { "data-testid": "account-back" });
  cancel.addEventListener("click", () => ctx.go({ screen: "account", notice: null }));
  return card("account_password", false, heading(t("account.change_password")), formElement, actions(cancel));
}
