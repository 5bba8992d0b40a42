// Turning two-step verification on from the account: the password again first (the
// server asks for it, so that a stolen session alone cannot tie the account to someone
// else's authenticator), then the setup screen.
import { totpBegin } from "../api";
import { errorRegion } from "../components/errors";
import { passwordField } from "../components/password";
import type { Ctx } from "../context";
import { form, h, heading, linkButton } from "../dom";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { actions, card, lead } from "./common";

export function totpEnableScreen(ctx: Ctx, _view: ViewOf<"totp_enable">): HTMLElement {
  const errors = errorRegion();
  const password = passwordField(t("account.current_password"), "current-password", "current_password");
  const submit = h("button", { type: "submit", class: "button primary block", "data-testid": "totp-enable-submit" }, t("totp_enable.submit"));

  const formElement = form({ class: "stack" }, async () => {
    errors.clear();
    const secret = password.input.value;
    if (secret === "") {
      errors.showUi("password_required");
      return;
    }
    password.input.value = "";
    try {
      ctx.go({ screen: "totp_setup", setup: await totpBegin(secret), mode: "account" });
    } catch (error) {
      ctx.fail(error, errors);
    }
  });
  formElement.append(password.wrapper, errors.element, submit);

  const cancel = linkButton(t("common.cancel"), { "data-testid": "account-back" });
  cancel.addEventListener("click", () => ctx.go({ screen: "account", notice: null }));
  return card("totp_enable", false, heading(t("totp_enable.title")), lead(t("totp_enable.lead")), formElement, actions(cancel));
}
