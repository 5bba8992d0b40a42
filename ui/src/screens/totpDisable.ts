// Turn two-step verification off: needs the password and a current code (TOTP or a
// recovery code — the Rust side accepts either in `code`).
import { totpDisable } from "../api";
import { errorRegion } from "../components/errors";
import { passwordField } from "../components/password";
import type { Ctx } from "../context";
import { field, form, h, heading, linkButton } from "../dom";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { actions, card, lead } from "./common";
import { cleanCode, codeAttrs } from "./secondFactor";

export function totpDisableScreen(ctx: Ctx, _view: ViewOf<"totp_disable">): HTMLElement {
  const errors = errorRegion();
  const password = passwordField(t("account.current_password"), "current-password", "current_password");
  const code = field(t("mfa.totp_label"), { ...codeAttrs("totp", "totp"), "data-testid": "totp-disable-code" }, t("mfa.totp_hint"));
  const submit = h("button", { type: "submit", class: "button danger block", "data-testid": "totp-disable-submit" }, t("disable.submit"));

  const formElement = form({ class: "stack" }, async () => {
    errors.clear();
    const secret = password.input.value;
    const value = cleanCode(code.input.value);
    if (secret === "") {
      errors.showUi("password_required");
      return;
    }
    if (value === "") {
      errors.showUi("code_required");
      return;
    }
    password.input.value = "";
    code.input.value = "";
    try {
      await totpDisable(secret, value);
      ctx.go({ screen: "account", notice: { key: "account.totp_turned_off", tone: "success" } });
    } catch (error) {
      ctx.fail(error, errors);
    }
  });
  formElement.append(password.wrapper, code.wrapper, errors.element, submit);

  const cancel = linkButton(t("common.cancel"), { "data-testid": "account-back" });
  cancel.addEventListener("click", () => ctx.go({ screen: "account", notice: null }));
  return card("totp_disable", false, heading(t("disable.title")), lead(t("disable.lead")), formElement, actions(cancel));
}
