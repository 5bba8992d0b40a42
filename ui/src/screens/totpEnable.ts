// Turning two-step verification on from the account: the password again first (the
// server asks for it, so that a stolen session alone cannot tie the account to someone
// else's authenticator), then the setup screen.
import { totpBegin } from "../api";
import type { Ctx } from "../context";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { confirmPasswordScreen } from "./confirmPassword";

export function totpEnableScreen(ctx: Ctx, _view: ViewOf<"totp_enable">): HTMLElement {
  return confirmPasswordScreen(ctx, {
    screen: "totp_enable",
    title: t("totp_enable.title"),
    lead: t("totp_enable.lead"),
    submit: t("totp_enable.submit"),
    submitTestId: "totp-enable-submit",
    then: async (password) => ctx.go({ screen: "totp_setup", setup: await totpBegin(password), mode: "account" }),
  });
}
