// Forced password change at sign-in: the administrator set a temporary password, or the
// password expired. The user cannot go on without choosing a new one. On an account with
// two-step verification the server also wants a code from the authenticator app; the
// step does not say so, so the field appears when the change answers `mfa_required`.
import { forcedChange } from "../api";
import { errorRegion } from "../components/errors";
import { newPassword } from "../components/newPassword";
import type { Ctx } from "../context";
import { field, form, h, heading } from "../dom";
import { t, tCode } from "../i18n";
import type { ViewOf } from "../views";
import { actions, backToSignIn, card, lead } from "./common";
import { cleanCode, codeAttrs } from "./secondFactor";

export function forcedChangeScreen(ctx: Ctx, view: ViewOf<"forced_change">): HTMLElement {
  const errors = errorRegion();
  const submit = h("button", { type: "submit", class: "button primary block", "data-testid": "forced-change-submit" }, t("forced.submit"));
  const fields = newPassword(submit, ctx.server?.min_length ?? null);
  const secondFactorSlot = h("div", { class: "second-factor-slot" });
  let codeInput: HTMLInputElement | null = null;

  function showTotp(): void {
    const code = field(
      t("mfa.totp_label"),
      { ...codeAttrs("totp", "totp"), "data-testid": "forced-change-totp" },
      t("forced.totp_hint"),
    );
    codeInput = code.input;
    secondFactorSlot.replaceChildren(code.wrapper);
  }
  if (view.totp) showTotp();

  const formElement = form({ class: "stack" }, async () => {
    errors.clear();
    if (!fields.ready()) return;
    const code = codeInput === null ? null : cleanCode(codeInput.value);
    if (code === "") {
      errors.showUi("code_required");
      return;
    }
    try {
      const step = await forcedChange(fields.password.value, code);
      fields.clear();
      ctx.step(step);
    } catch (error) {
      if (codeInput) codeInput.value = "";
      const appError = ctx.fail(error, errors);
      if (appError.code === "mfa_required" && !view.totp) {
        view.totp = true;
        showTotp();
        codeInput?.focus();
      }
    }
  });
  formElement.append(...fields.elements, secondFactorSlot, errors.element, submit);

  return card(
    "forced_change",
    false,
    heading(t("forced.title")),
    lead(tCode("forced.reason.", view.reason, "forced.reason.other")),
    formElement,
    actions(backToSignIn(ctx, t("common.cancel_sign_in"))),
  );
}
