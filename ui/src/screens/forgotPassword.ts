// Forgot password, first step: who you are and where the code should go (when the
// server offers both e-mail and SMS). The answer is the same whether or not the account
// exists, so the next screen words it carefully.
import { recoveryStart } from "../api";
import type { Channel } from "../bindings/Channel";
import { errorRegion } from "../components/errors";
import type { Ctx } from "../context";
import { field, form, h, heading, uid } from "../dom";
import { currentLocale, t, tCode } from "../i18n";
import type { ViewOf } from "../views";
import { actions, backToSignIn, card, lead } from "./common";

export function forgotPasswordScreen(ctx: Ctx, view: ViewOf<"forgot_password">): HTMLElement {
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
    channelChoice = h("fieldset", { class: "choice", "data-testid": "channel-choice" }, h("legend", {}, t("forgot.channel")));
    channels.forEach((channel, index) => {
      const id = uid("channel");
      const radio = h("input", { type: "radio", name: "channel", id, value: channel, checked: index === 0 });
      channelChoice?.append(h("div", { class: "radio" }, radio, h("label", { for: id }, tCode("forgot.channel.", channel, "channel.other"))));
    });
  }
  const submit = h("button", { type: "submit", class: "button primary block", "data-testid": "recovery-start-submit" }, t("forgot.submit"));

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
      const started = await recoveryStart(id, channel, currentLocale());
      ctx.identifier = id;
      const now = Date.now();
      ctx.go({
        screen: "recovery_code",
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

  return card("forgot_password", false, heading(t("forgot.title")), lead(t("forgot.lead")), formElement, actions(backToSignIn(ctx)));
}
