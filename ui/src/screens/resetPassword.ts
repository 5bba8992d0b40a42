// Password reset, last step (also where the e-mailed link lands): the new password with
// its strength meter and confirmation, plus a TOTP or recovery code when the account has
// two-step verification — a reset never bypasses it. The methods are known in advance
// (from the code's check, or from the server's description of a link), and the screen
// names the account a link resets; should the server still answer `mfa_required`, the
// field appears then.
import { resetComplete } from "../api";
import type { MfaMethod } from "../bindings/MfaMethod";
import { errorRegion } from "../components/errors";
import { newPassword } from "../components/newPassword";
import type { Ctx } from "../context";
import { field, form, h, heading, linkButton } from "../dom";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { actions, backToSignIn, card, lead } from "./common";
import { cleanCode, codeAttrs } from "./secondFactor";

const ALL_METHODS: MfaMethod[] = ["totp", "recovery_code"];

export function resetPasswordScreen(ctx: Ctx, view: ViewOf<"reset_password">): HTMLElement {
  const errors = errorRegion();
  const submit = h("button", { type: "submit", class: "button primary block", "data-testid": "reset-submit" }, t("reset.submit"));
  const fields = newPassword(submit, ctx.server?.min_length ?? null);
  const secondFactorSlot = h("div", { class: "second-factor-slot" });

  let method: MfaMethod | null = null;
  let codeInput: HTMLInputElement | null = null;

  /** Shows the code field for `methods` (first one first) — or switches method. */
  function showSecondFactor(methods: MfaMethod[], chosen: MfaMethod): void {
    method = chosen;
    const totp = chosen !== "recovery_code";
    const code = field(
      totp ? t("mfa.totp_label") : t("mfa.recovery_label"),
      { ...codeAttrs(chosen, totp ? "totp" : "recovery_code"), "data-testid": "reset-second-factor" },
      t("reset.second_factor_hint"),
    );
    codeInput = code.input;
    const other = methods.find((m) => m !== chosen);
    let switcher: HTMLButtonElement | null = null;
    if (other) {
      switcher = linkButton(other === "recovery_code" ? t("mfa.use_recovery") : t("mfa.use_totp"), { "data-testid": "switch-method" });
      switcher.addEventListener("click", () => {
        showSecondFactor(methods, other);
        codeInput?.focus();
      });
    }
    secondFactorSlot.replaceChildren(code.wrapper, switcher ?? "");
  }
  if (view.methods !== null && view.methods.length > 0) showSecondFactor(view.methods, view.methods[0] ?? "totp");

  const formElement = form({ class: "stack" }, async () => {
    errors.clear();
    if (!fields.ready()) return;
    const code = codeInput === null ? "" : cleanCode(codeInput.value);
    if (method !== null && code === "") {
      errors.showUi("code_required");
      return;
    }
    try {
      await resetComplete(
        fields.password.value,
        method === "totp" ? code : null,
        method === "recovery_code" ? code : null,
      );
      fields.clear();
      ctx.go({ screen: "sign_in", identifier: ctx.identifier, remember: true, notice: { key: "reset.done", tone: "success" } });
    } catch (error) {
      if (codeInput) codeInput.value = "";
      const appError = ctx.fail(error, errors);
      if (appError.code === "mfa_required" && method === null) {
        const methods = view.methods !== null && view.methods.length > 0 ? view.methods : ALL_METHODS;
        view.methods = methods;
        showSecondFactor(methods, methods[0] ?? "totp");
        codeInput?.focus();
      }
    }
  });
  formElement.append(...fields.elements, secondFactorSlot, errors.element, submit);

  return card(
    "reset_password",
    false,
    heading(t("reset.title")),
    view.account === null ? null : h("p", { class: "account-hint", "data-testid": "reset-account" }, t("reset.account", { account: view.account })),
    lead(view.fromLink ? t("reset.lead_link") : t("reset.lead")),
    formElement,
    actions(backToSignIn(ctx)),
  );
}
