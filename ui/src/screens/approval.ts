// Approving a browser sign-in (`latchkey://approve`): which application asks, from
// which browser and address (with a warning when the browser is not on this
// computer's network), and three numbers, one of which the browser shows. Picking the
// browser's number allows; any other cancels the request (number matching, against a
// page that tricks someone into approving a stranger's sign-in). An application that
// needs two-step verification this session lacks gets no Allow at all.
//
// The focus starts on the heading, never on a number: an Enter pressed by habit must
// not approve anything.
import { approvalDecide, approvalDismiss } from "../api";
import { countdown } from "../components/countdown";
import { errorRegion } from "../components/errors";
import type { Ctx } from "../context";
import { button, h, heading, runBusy } from "../dom";
import { formatClock, t } from "../i18n";
import type { ApprovalResult, ViewOf } from "../views";
import { card, lead } from "./common";

export function approvalScreen(ctx: Ctx, view: ViewOf<"approval">): HTMLElement {
  const approval = view.approval;
  const app = approval.client_name;
  const errors = errorRegion();
  let shown = true;
  ctx.onLeave(() => {
    shown = false;
  });
  const result = (result: ApprovalResult) =>
    ctx.go({ screen: "approval_result", result, app, server: null, error: null, previous: view.previous });

  const details = h("dl", { class: "profile approval-details", "data-testid": "approval-details" });
  const add = (label: string, value: string, testId: string) =>
    details.append(h("dt", {}, label), h("dd", { "data-testid": testId }, value));
  add(t("approval.application"), app, "approval-app");
  add(t("approval.browser"), approval.browser, "approval-browser");
  add(t("approval.address"), approval.ip ?? t("approval.address_unknown"), "approval-ip");
  const warning = approval.same_network
    ? null
    : h(
        "p",
        { class: "notice warning", role: "note", "data-testid": "approval-other-network" },
        t("approval.other_network", { ip: approval.ip ?? t("approval.address_unknown") }),
      );

  const expires = h("p", { class: "muted", "data-testid": "approval-expires" });
  const stop = countdown(
    view.expiresAt,
    (left) => {
      expires.textContent = t("approval.expires", { time: formatClock(left) });
    },
    // After this render (the deadline may have passed already), unless left meanwhile.
    () =>
      setTimeout(() => {
        if (!shown) return;
        void approvalDismiss().catch(() => undefined);
        result("expired");
      }, 0),
  );
  ctx.onLeave(stop);

  const deny = button(t("approval.deny"), { "data-testid": "approval-deny" }, "danger");
  const answer = (allow: boolean, number: number | null, busy: HTMLButtonElement) =>
    void runBusy(screen, busy, async () => {
      errors.clear();
      try {
        await approvalDecide(allow, number);
        ctx.reached();
        result(allow ? "allowed" : "denied");
      } catch (error) {
        const failed = ctx.fail(error, errors);
        if (failed.code === "approval_invalid") result("expired");
        else if (failed.code === "approval_mismatch") result("mismatch");
        else if (failed.code === "two_factor_required") result("two_factor");
      }
    });
  deny.addEventListener("click", () => answer(false, null, deny));

  let choice: HTMLElement;
  if (approval.needs_two_factor) {
    choice = h("p", { class: "notice warning", role: "note", "data-testid": "approval-two-factor" }, t("approval.two_factor", { app }));
  } else {
    const pickId = "approval-pick";
    const numbers = h("div", { class: "approval-numbers", role: "group", "aria-labelledby": pickId });
    for (const n of approval.numbers) {
      const pick = h(
        "button",
        { type: "button", class: "button secondary approval-number", "data-testid": `approval-number-${n}`, "aria-label": t("approval.pick_label", { n }) },
        String(n),
      );
      pick.addEventListener("click", () => answer(true, n, pick));
      numbers.append(pick);
    }
    choice = h("div", { class: "approval-pick" }, h("h2", { id: pickId }, t("approval.pick")), numbers);
  }

  const screen = card(
    "approval",
    false,
    heading(t("approval.title", { app })),
    lead(t("approval.lead", { app })),
    details,
    warning,
    errors.element,
    choice,
    expires,
    h("div", { class: "buttons" }, deny),
  );
  return screen;
}

/** The title and text of each result; the text of a refusal is its error's. */
const RESULTS: Record<ApprovalResult, { title: Parameters<typeof t>[0]; text: Parameters<typeof t>[0] | null }> = {
  allowed: { title: "approval_result.allowed_title", text: "approval_result.allowed" },
  denied: { title: "approval_result.denied_title", text: "approval_result.denied" },
  expired: { title: "approval_result.expired_title", text: "errors.approval_invalid" },
  mismatch: { title: "approval_result.mismatch_title", text: "errors.approval_mismatch" },
  two_factor: { title: "approval_result.two_factor_title", text: "errors.two_factor_required" },
  not_signed_in: { title: "approval_result.not_signed_in_title", text: "approval_result.not_signed_in" },
  offline: { title: "approval_result.offline_title", text: "approval_result.offline" },
  wrong_server: { title: "approval_result.wrong_server_title", text: "approval_result.wrong_server" },
  error: { title: "approval_result.error_title", text: null },
};

export function approvalResultScreen(ctx: Ctx, view: ViewOf<"approval_result">): HTMLElement {
  const { title, text } = RESULTS[view.result];
  const errors = errorRegion();
  const done = button(t("approval_result.done"), { "data-testid": "approval-done" });
  done.addEventListener("click", () => ctx.go(view.previous));
  const tone = view.result === "allowed" ? "success" : view.result === "denied" ? "info" : "warning";
  const message =
    text === null
      ? null
      : h("p", { class: `notice ${tone}`, role: "status", "data-testid": "approval-result-text" }, t(text, { app: view.app ?? "", server: view.server ?? "" }));
  const screen = card("approval_result", false, heading(t(title)), message, errors.element, h("div", { class: "buttons" }, done));
  screen.dataset.result = view.result;
  if (view.error !== null) errors.show(view.error);
  return screen;
}
