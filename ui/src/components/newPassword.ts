// A new password and its confirmation: the live strength meter, the "passwords differ"
// message, and a submit button that stays disabled until the policy accepts the
// password and both fields match. Used by the forced change, the reset and the account.
import { h } from "../dom";
import { t } from "../i18n";
import { passwordField } from "./password";
import { strengthMeter, type StrengthMeter } from "./strength";

export interface NewPassword {
  elements: HTMLElement[];
  password: HTMLInputElement;
  confirm: HTMLInputElement;
  meter: StrengthMeter;
  /** Whether the form may be submitted (accepted or unchecked, and matching). */
  ready(): boolean;
  /** Re-evaluates the submit button (after a busy period). */
  update(): void;
  clear(): void;
}

export function newPassword(submit: HTMLButtonElement, minLength: number | null): NewPassword {
  const password = passwordField(t("newpassword.label"), "new-password", "new_password");
  const hint = h(
    "p",
    { class: "hint", id: `${password.input.id}-hint` },
    minLength === null ? t("newpassword.hint") : t("newpassword.hint_min", { min: minLength }),
  );
  password.input.setAttribute("aria-describedby", hint.id);
  password.wrapper.insertBefore(hint, password.capsLock);
  const confirm = passwordField(t("newpassword.confirm"), "new-password", "confirm_password");
  const mismatch = h("p", { class: "field-error", "aria-live": "polite", "data-testid": "password-mismatch" });
  confirm.wrapper.append(mismatch);

  let confirmTouched = false;
  const matches = () => password.input.value === confirm.input.value;
  const ready = () => password.input.value !== "" && meter.accepted() !== false && matches();

  function update(): void {
    const showMismatch =
      confirm.input.value !== "" && !matches() && (confirmTouched || confirm.input.value.length >= password.input.value.length);
    mismatch.textContent = showMismatch ? t("errors.password_mismatch") : "";
    if (showMismatch) confirm.input.setAttribute("aria-invalid", "true");
    else confirm.input.removeAttribute("aria-invalid");
    const busy = submit.closest("form")?.getAttribute("aria-busy") === "true";
    submit.disabled = busy || !ready();
  }

  const meter = strengthMeter(password.input, update);
  confirm.input.addEventListener("input", update);
  confirm.input.addEventListener("blur", () => {
    confirmTouched = true;
    update();
  });
  submit.disabled = true;
  // runBusy restores the buttons when a command ends; this one depends on the fields.
  queueMicrotask(() => submit.closest("form")?.addEventListener("busy-end", update));

  return {
    elements: [password.wrapper, meter.element, confirm.wrapper],
    password: password.input,
    confirm: confirm.input,
    meter,
    ready,
    update,
    clear() {
      password.input.value = "";
      confirm.input.value = "";
      confirmTouched = false;
      meter.refresh();
    },
  };
}
