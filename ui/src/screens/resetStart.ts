// Password reset, first step: who you are and where the reset code should go (when the
// server offers both e-mail and SMS). The answer is the same whether or not the account
// exists, so the next screen words it carefully.
import { resetStart } from "../api";
import type { Channel } from "../bindings/Channel";
import { errorRegion } from "../components/errors";
import type { Ctx } from "../context";
import { field, form, h, heading, uid } from "../dom";
import { currentLocale, t, tCode } from "../i18n";
import type { ViewOf } from "../views";
import { actions, backToSignIn, card, lead } from "./common";

export function resetStartScreen(ctx: Ctx, view: ViewOf<"reset_start">): HTMLElement {
  const errors = errorRegion();
  const identifier = field(t("signin.identifier"), {
    name: "identifier",
    type: "text",
    autocomplete: "username",
    autocapitalize: "off",
    spellcheck: "false",
    required: true,
    value: view.identifier,
  });
  const channels = ctx.server?.recovery_channels ?? [];
  let channelChoice: HTMLFieldSetElement | null = null;
  if (channels.length > 1) {
    channelChoice = h("fieldset", { class: "choice", "data-testid": "channel-choice" }, h("legend", {}, t("reset_start.channel")));
    channels.forEach((channel, index) => {
      const id = uid("channel");
      const radio = h("input", { type: "radio", name: "channel", id, value: channel, checked: index === 0 });
      channelChoice?.append(h("div", { class: "radio" }, radio, h("label", { for: id }, tCode("reset_start.channel.", channel, "channel.other"))));
    });
  }
  const submit = h("button", { type: "submit", class: "button primary block", "data-testid": "reset-start-submit" }, t("reset_start.submit"));

  const formElement = form({ class: "stack" }, async () => {
    errors.clear();
    const id = identifier.input.value.trim();
    if (id === "") {
      errors.showUi("identifier_required");
      return;
    }
    const chosen =
      channelChoice?.querySelector<HTMLInputElement>("input[name=channel]:checked")?.value ?? (channels.length === 1 ? (channels[0] ?? null) : null);
    try {
      // A channel this app does not know: the server picks one.
      const channel: Channel | null = chosen === "email" || chosen === "sms" ? chosen : null;
      const started = await resetStart(id, channel, currentLocale());
      ctx.identifier = id;
      const now = Date.now();
      ctx.go({
        screen: "reset_code",
        identifier: id,
        channel: chosen,
        resendAt: now + started.resend_after * 1000,
        expiresAt: now + started.expires_in * 1000,
      });
    } catch (error) {
      ctx.fail(error, errors);
    }
  });
  formElement.append(identifier.wrapper, channelChoice ?? "", errors.element, submit);

  return card("reset_start", false, heading(t("reset_start.title")), lead(t("reset_start.lead")), formElement, actions(backToSignIn(ctx)));
}
