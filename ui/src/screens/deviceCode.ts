// A sign-in from a device the server has not seen: the code sent by e-mail or SMS, with
// the masked destination and how long the code stays valid.
import { deviceCode } from "../api";
import { countdown } from "../components/countdown";
import { errorRegion } from "../components/errors";
import type { Ctx } from "../context";
import { field, form, h, heading } from "../dom";
import { formatClock, t, tCode } from "../i18n";
import type { ViewOf } from "../views";
import { actions, backToSignIn, card, lead } from "./common";
import { cleanCode, codeAttrs } from "./secondFactor";

export function deviceCodeScreen(ctx: Ctx, view: ViewOf<"device_code">): HTMLElement {
  const errors = errorRegion();
  const code = field(t("device.code_label"), { ...codeAttrs("totp", "device_code"), "data-testid": "device-code" });
  const expiry = h("p", { class: "hint", "data-testid": "device-expiry" });
  const submit = h("button", { type: "submit", class: "button primary block", "data-testid": "device-code-submit" }, t("device.submit"));

  ctx.onLeave(
    countdown(
      view.expiresAt,
      (left) => {
        expiry.textContent = t("device.expires_in", { time: formatClock(left) });
      },
      () => {
        expiry.textContent = t("device.expired");
        expiry.setAttribute("role", "status");
      },
    ),
  );

  const formElement = form({ class: "stack" }, async () => {
    errors.clear();
    const value = cleanCode(code.input.value);
    if (value === "") {
      errors.showUi("code_required");
      return;
    }
    try {
      ctx.step(await deviceCode(value));
    } catch (error) {
      code.input.value = "";
      ctx.fail(error, errors);
    }
  });
  formElement.append(code.wrapper, expiry, errors.element, submit);

  const channel = tCode("channel.", view.channel, "channel.other");
  return card(
    "device_code",
    false,
    heading(t("device.title")),
    lead(t("device.lead")),
    h("p", { class: "destination" }, t("device.sent_to", { channel, destination: view.destination })),
    formElement,
    actions(backToSignIn(ctx)),
  );
}
