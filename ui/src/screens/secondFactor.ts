// Second factor at sign-in: a code from the authenticator app, or one of the recovery
// codes (when the server offers both, the user can switch).
import { secondFactor } from "../api";
import type { MfaMethod } from "../bindings/MfaMethod";
import { errorRegion } from "../components/errors";
import type { Ctx } from "../context";
import { field, form, h, heading, linkButton } from "../dom";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { actions, backToSignIn, card, lead } from "./common";

/** The attributes of a one-time code field: a TOTP code or a recovery code. */
export function codeAttrs(method: MfaMethod, name: string): Record<string, string | boolean> {
  return method === "recovery_code"
    ? { name, type: "text", autocomplete: "off", autocapitalize: "off", spellcheck: "false", required: true }
    : { name, type: "text", autocomplete: "one-time-code", inputmode: "numeric", pattern: "[0-9 ]*", required: true };
}

/**
 * A code as typed, without the spaces people copy along. NFKC first: a Chinese IME in
 * full-width mode types `１２３４５６` (and an ideographic space), which are the same
 * digits to the person and must be to the server.
 */
export function cleanCode(value: string): string {
  return value.normalize("NFKC").replace(/\s+/g, "");
}

export function secondFactorScreen(ctx: Ctx, view: ViewOf<"second_factor">): HTMLElement {
  const errors = errorRegion();
  const method = view.method;
  const totp = method !== "recovery_code";
  const code = field(
    totp ? t("mfa.totp_label") : t("mfa.recovery_label"),
    { ...codeAttrs(method, totp ? "totp" : "recovery_code"), "data-testid": "second-factor-code" },
    totp ? t("mfa.totp_hint") : t("mfa.recovery_hint"),
  );
  const submit = h("button", { type: "submit", class: "button primary block", "data-testid": "second-factor-submit" }, t("mfa.submit"));

  const formElement = form({ class: "stack" }, async () => {
    errors.clear();
    const value = cleanCode(code.input.value);
    if (value === "") {
      errors.showUi("code_required");
      return;
    }
    try {
      ctx.step(await secondFactor(method, value));
    } catch (error) {
      code.input.value = "";
      ctx.fail(error, errors);
    }
  });
  formElement.append(code.wrapper, errors.element, submit);

  let other: HTMLButtonElement | null = null;
  const otherMethod = view.methods.find((m) => m !== method);
  if (otherMethod) {
    other = linkButton(otherMethod === "recovery_code" ? t("mfa.use_recovery") : t("mfa.use_totp"), { "data-testid": "switch-method" });
    other.addEventListener("click", () => ctx.go({ ...view, method: otherMethod }));
  }

  return card(
    "second_factor",
    false,
    heading(t("mfa.title")),
    lead(totp ? t("mfa.totp_lead") : t("mfa.recovery_lead")),
    formElement,
    actions(other, backToSignIn(ctx)),
  );
}
