// New recovery codes (the old ones stop working): confirm with the password, then the
// recovery codes screen shows the new ten once.
import { recoveryCodesRegenerate } from "../api";
import type { Ctx } from "../context";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { confirmPasswordScreen } from "./confirmPassword";

export function regenerateCodesScreen(ctx: Ctx, _view: ViewOf<"regenerate_codes">): HTMLElement {
  return confirmPasswordScreen(ctx, {
    screen: "regenerate_codes",
    title: t("regenerate.title"),
    lead: t("regenerate.lead"),
    submit: t("regenerate.submit"),
    submitTestId: "regenerate-submit",
    then: async (password) => ctx.go({ screen: "recovery_codes", codes: await recoveryCodesRegenerate(password), mode: "regenerate" }),
  });
}
