// Account temporarily locked after too many failures: a live m:ss countdown, then
// "try again". The lock lifts itself; the way around it is a password reset or IT.
import { countdown } from "../components/countdown";
import type { Ctx } from "../context";
import { button, h, heading, linkButton } from "../dom";
import { formatClock, t } from "../i18n";
import type { ViewOf } from "../views";
import { actions, backToSignIn, card, lead, supportBlock } from "./common";

export function lockedScreen(ctx: Ctx, view: ViewOf<"locked">): HTMLElement {
  const clock = h("p", { class: "clock", role: "timer", "aria-live": "off", "data-testid": "locked-countdown" });
  const status = h("p", { class: "muted", role: "status" });
  const retry = button(t("common.try_again"), { "data-testid": "locked-retry", hidden: true });
  retry.addEventListener("click", () =>
    ctx.go({ screen: "sign_in", identifier: ctx.identifier, remember: true, notice: null }),
  );

  const unlocked = () => {
    clock.hidden = true;
    status.textContent = t("locked.over");
    retry.hidden = false;
    retry.focus();
  };
  if (view.until === null) {
    clock.hidden = true;
    status.textContent = t("locked.later");
    retry.hidden = false;
  } else {
    status.textContent = t("locked.wait");
    ctx.onLeave(
      countdown(
        view.until,
        (left) => {
          clock.textContent = formatClock(left);
          clock.setAttribute("aria-label", t("locked.remaining", { time: formatClock(left) }));
        },
        () => queueMicrotask(unlocked),
      ),
    );
  }

  const resetLink = linkButton(t("signin.forgot"), { "data-testid": "reset-start-link" });
  resetLink.addEventListener("click", () => ctx.go({ screen: "reset_start", identifier: ctx.identifier ?? "" }));

  return card(
    "locked",
    false,
    heading(t("locked.title")),
    lead(t("locked.lead")),
    clock,
    status,
    h("div", { class: "buttons" }, retry),
    // The lock is on this identifier only: someone else may still sign in here.
    actions(resetLink, backToSignIn(ctx)),
    supportBlock(ctx.server),
  );
}
