// A password field with a show/hide toggle and a Caps Lock warning. The value lives only
// in the input; screens read it on submit and clear it afterwards.
import { h, uid } from "../dom";
import { t } from "../i18n";

export interface PasswordField {
  wrapper: HTMLDivElement;
  input: HTMLInputElement;
  toggle: HTMLButtonElement;
  capsLock: HTMLParagraphElement;
}

/**
 * `autocomplete` is `current-password` or `new-password`; `name` names the field for
 * tests and for the language switch's carry-over of typed values.
 */
export function passwordField(label: string, autocomplete: "current-password" | "new-password", name: string): PasswordField {
  const id = uid(name);
  const input = h("input", {
    id,
    name,
    type: "password",
    autocomplete,
    autocapitalize: "off",
    spellcheck: "false",
    required: true,
  });
  const toggle = h(
    "button",
    { type: "button", class: "reveal", "aria-controls": id, "aria-pressed": "false", "data-testid": `${name}-reveal` },
    t("password.show"),
  );
  toggle.addEventListener("click", () => {
    const shown = input.type === "text";
    input.type = shown ? "password" : "text";
    toggle.setAttribute("aria-pressed", String(!shown));
    toggle.textContent = shown ? t("password.show") : t("password.hide");
  });

  const capsLock = h("p", { class: "caps-lock", id: `${id}-caps`, "aria-live": "polite", hidden: true }, t("password.caps_lock"));
  const updateCaps = (event: KeyboardEvent | MouseEvent) => {
    if (typeof event.getModifierState !== "function") return;
    const on = event.getModifierState("CapsLock");
    capsLock.hidden = !on;
    if (on) input.setAttribute("aria-describedby", capsLock.id);
    else input.removeAttribute("aria-describedby");
  };
  input.addEventListener("keydown", updateCaps);
  input.addEventListener("keyup", updateCaps);
  input.addEventListener("blur", () => {
    capsLock.hidden = true;
  });

  const wrapper = h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    h("div", { class: "password-row" }, input, toggle),
    capsLock,
  );
  return { wrapper, input, toggle, capsLock };
}
