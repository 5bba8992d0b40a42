// Turning two-step verification on from the account: the password again first (the
// server asks for it, so that a stolen session alone cannot tie the account to someone
// else's authenticator), then the setup screen. When the organisation requires it
// (`two_factor_setup_required`) there is no way around it but signing out.
import { signOut, totpBegin } from "../api";
import type { Ctx } from "../context";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { confirmPasswordScreen } from "./confirmPassword";

export function totpEnableScreen(ctx: Ctx, view: ViewOf<"totp_enable">): HTMLElement {
  const required = view.required === true;
  return confirmPasswordScreen(ctx, {
    screen: "totp_enable",
    title: t("totp_enable.title"),
    lead: required ? t("totp_enable.required_lead") : t("totp_enable.lead"),
    away: required
      ? {
          label: t("account.sign_out"),
          testId: "sign-out",
          run: (errors) => void signOut().then((step) => ctx.step(step), (error: unknown) => ctx.fail(error, errors)),
        }
      : undefined,
    submit: t("totp_enable.submit"),
    submitTestId: "totp-enable-submit",
    then: async (password) => ctx.go({ screen: "totp_setup", setup: await totpBegin(password), mode: "account" }),
  });
}
