// An account action that takes the password again first (turning two-step verification
// on, new recovery codes): one password field, its errors, submit and cancel. `then`
// gets the password once it is not empty; the field is cleared before it runs.
import { errorRegion, type ErrorRegion } from "../components/errors";
import { passwordField } from "../components/password";
import type { Ctx } from "../context";
import { form, h, heading, linkButton } from "../dom";
import { t } from "../i18n";
import type { ScreenName } from "../views";
import { actions, card, lead } from "./common";

export interface PasswordConfirmation {
  /** The screen's name (the card's marker). */
  screen: ScreenName;
  title: string;
  lead: string;
  submit: string;
  submitTestId: string;
  then: (password: string) => Promise<void>;
  /** Instead of "Cancel" back to the account (a required step has no way around it). */
  away?: { label: string; testId: string; run: (errors: ErrorRegion) => void };
}

export function confirmPasswordScreen(ctx: Ctx, c: PasswordConfirmation): HTMLElement {
  const errors = errorRegion();
  const password = passwordField(t("account.current_password"), "current-password", "current_password");
  const submit = h("button", { type: "submit", class: "button primary block", "data-testid": c.submitTestId }, c.submit);

  const formElement = form({ class: "stack" }, async () => {
    errors.clear();
    const secret = password.input.value;
    if (secret === "") {
      errors.showUi("password_required");
      return;
    }
    password.input.value = "";
    try {
      await c.then(secret);
    } catch (error) {
      ctx.fail(error, errors);
    }
  });
  formElement.append(password.wrapper, errors.element, submit);

  const away = c.away ?? { label: t("common.cancel"), testId: "account-back", run: () => ctx.go({ screen: "account", notice: null }) };
  const cancel = linkButton(away.label, { "data-testid": away.testId });
  cancel.addEventListener("click", () => away.run(errors));
  return card(c.screen, false, heading(c.title), lead(c.lead), formElement, actions(cancel));
}
