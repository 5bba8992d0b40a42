// After a first sign-in, the server may offer two-step verification: set it up now or
// skip (the account page can turn it on later).
import { totpBegin, totpSkip } from "../api";
import { errorRegion } from "../components/errors";
import type { Ctx } from "../context";
import { button, h, heading, runBusy } from "../dom";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { card, lead } from "./common";

export function offerTotpScreen(ctx: Ctx, _view: ViewOf<"offer_totp">): HTMLElement {
  const errors = errorRegion();
  const setup = button(t("offer.setup"), { "data-testid": "totp-offer-setup", "data-autofocus": true });
  const skip = button(t("offer.skip"), { "data-testid": "totp-offer-skip" }, "secondary");
  const row = h("div", { class: "buttons" }, setup, skip);

  setup.addEventListener("click", () => {
    void runBusy(row, setup, async () => {
      errors.clear();
      try {
        ctx.go({ screen: "totp_setup", setup: await totpBegin(null), mode: "first_time" });
      } catch (error) {
        ctx.fail(error, errors);
      }
    });
  });
  skip.addEventListener("click", () => {
    void runBusy(row, skip, async () => {
      errors.clear();
      try {
        ctx.step(await totpSkip());
      } catch (error) {
        ctx.fail(error, errors);
      }
    });
  });

  return card(
    "offer_totp",
    false,
    heading(t("offer.title")),
    lead(t("offer.lead")),
    h("ul", { class: "checklist" }, h("li", {}, t("offer.point_app")), h("li", {}, t("offer.point_time")), h("li", {}, t("offer.point_codes"))),
    errors.element,
    row,
  );
}
