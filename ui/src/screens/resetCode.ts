// Password reset, second step: the 6-digit reset code in six boxes (paste anywhere, auto
// advance, Backspace goes back), a live "resend in m:ss" countdown from the server's
// resend_after, and the code's own expiry.
import { resetResend, resetVerify } from "../api";
import { codeBoxes } from "../components/codeBoxes";
import { countdown } from "../components/countdown";
import { errorRegion } from "../components/errors";
import type { Ctx } from "../context";
import { form, h, heading, linkButton, runBusy } from "../dom";
import { formatClock, formatDuration, t, tCode } from "../i18n";
import type { ViewOf } from "../views";
import { actions, backToSignIn, card, lead } from "./common";

const CODE_LENGTH = 6;

export function resetCodeScreen(ctx: Ctx, view: ViewOf<"reset_code">): HTMLElement {
  const errors = errorRegion();
  const status = h("p", { class: "success-text", role: "status", "data-testid": "resend-status" });
  const submit = h("button", { type: "submit", class: "button primary block", "data-testid": "reset-code-submit" }, t("reset_code.submit"));
  const boxes = codeBoxes(CODE_LENGTH, () => formElement.requestSubmit());
  boxes.boxes[0]?.setAttribute("data-autofocus", "true");

  const formElement = form({ class: "stack" }, async () => {
    errors.clear();
    const code = boxes.value();
    if (code.length < CODE_LENGTH) {
      errors.showUi("code_incomplete", { n: CODE_LENGTH });
      return;
    }
    try {
      const check = await resetVerify(code);
      ctx.go({
        screen: "reset_password",
        methods: check.second_factor_required ? check.methods : null,
        fromLink: false,
        account: null,
      });
    } catch (error) {
      boxes.clear();
      ctx.fail(error, errors);
    }
  });
  formElement.append(boxes.element, errors.element, submit);

  // Resend: disabled with a live countdown until the server allows it.
  const resend = h("button", { type: "button", class: "button secondary", "data-testid": "reset-code-resend", disabled: true });
  const resendRow = h("div", { class: "resend" }, resend, status);
  let secondsLeft = 0;
  let stop = () => {};
  const showResend = () => {
    resend.disabled = secondsLeft > 0;
    resend.textContent = secondsLeft > 0 ? t("reset_code.resend_in", { time: formatClock(secondsLeft) }) : t("reset_code.resend");
  };
  const startCountdown = (deadline: number) => {
    stop();
    stop = countdown(
      deadline,
      (left) => {
        secondsLeft = left;
        if (resendRow.getAttribute("aria-busy") !== "true") showResend();
      },
      () => undefined,
    );
  };
  startCountdown(view.resendAt);
  ctx.onLeave(() => stop());
  resendRow.addEventListener("busy-end", showResend);
  resend.addEventListener("click", () => {
    void runBusy(resendRow, resend, async () => {
      errors.clear();
      status.textContent = "";
      try {
        const started = await resetResend();
        const now = Date.now();
        // Keep the view current so a language switch keeps counting from here.
        view.resendAt = now + started.resend_after * 1000;
        view.expiresAt = now + started.expires_in * 1000;
        secondsLeft = started.resend_after;
        startCountdown(view.resendAt);
        status.textContent = t("reset_code.resent");
        boxes.clear();
        boxes.focus();
      } catch (error) {
        ctx.fail(error, errors);
      }
    });
  });

  const channel = view.channel === null ? t("channel.other") : tCode("channel.", view.channel, "channel.other");
  const minutes = formatDuration(Math.max(0, (view.expiresAt - Date.now()) / 1000));
  const startOver = linkButton(t("reset_code.start_over"), { "data-testid": "reset-start-over" });
  startOver.addEventListener("click", () => ctx.go({ screen: "reset_start", identifier: view.identifier }));

  return card(
    "reset_code",
    false,
    heading(t("reset_code.title")),
    lead(t("reset_code.lead", { identifier: view.identifier, channel, time: minutes })),
    formElement,
    resendRow,
    actions(startOver, backToSignIn(ctx)),
  );
}
