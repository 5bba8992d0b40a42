// Two-step verification setup: the QR code, the key in groups for manual entry (with a
// copy button), and confirmation with a first code. Then the recovery codes screen.
import { totpConfirm, totpSkip } from "../api";
import { errorRegion } from "../components/errors";
import { parseQrSvg } from "../components/qr";
import type { Ctx } from "../context";
import { button, copyText, field, form, h, heading, linkButton, runBusy } from "../dom";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { actions, card, lead } from "./common";
import { cleanCode, codeAttrs } from "./secondFactor";

export function totpSetupScreen(ctx: Ctx, view: ViewOf<"totp_setup">): HTMLElement {
  const { setup } = view;
  const errors = errorRegion();

  const qr = parseQrSvg(setup.qr_svg);
  const figure = h(
    "figure",
    { class: "qr", role: "img", "aria-label": t("totp.qr_label", { issuer: setup.issuer, account: setup.account }), "data-testid": "totp-qr" },
  );
  if (qr) figure.append(qr);
  else figure.append(h("p", { class: "muted" }, t("totp.qr_unavailable")));

  const secret = setup.secret_groups.join("");
  const key = h("code", { class: "secret selectable", "data-testid": "totp-secret", "data-secret": secret }, setup.secret_groups.join(" "));
  const copyStatus = h("span", { class: "success-text", role: "status" });
  const copy = button(t("totp.copy_key"), { "data-testid": "totp-copy-key" }, "secondary");
  copy.addEventListener("click", () => {
    void copyText(secret).then((ok) => {
      copyStatus.textContent = ok ? t("common.copied") : t("common.copy_failed");
    });
  });

  const code = field(t("totp.code_label"), { ...codeAttrs("totp", "totp"), "data-testid": "totp-code" }, t("totp.code_hint"));
  const submit = h("button", { type: "submit", class: "button primary block", "data-testid": "totp-confirm" }, t("totp.confirm"));
  const formElement = form({ class: "stack" }, async () => {
    errors.clear();
    const value = cleanCode(code.input.value);
    if (value === "") {
      errors.showUi("code_required");
      return;
    }
    try {
      const codes = await totpConfirm(value);
      ctx.go({ screen: "recovery_codes", codes, mode: view.mode });
    } catch (error) {
      code.input.value = "";
      ctx.fail(error, errors);
    }
  });
  formElement.append(code.wrapper, errors.element, submit);

  let leave: HTMLButtonElement;
  if (view.mode === "account") {
    leave = linkButton(t("common.cancel"), { "data-testid": "totp-cancel" });
    leave.addEventListener("click", () => ctx.go({ screen: "account", notice: null }));
  } else {
    leave = linkButton(t("offer.skip"), { "data-testid": "totp-skip" });
    leave.addEventListener("click", () => {
      void runBusy(formElement, null, async () => {
        try {
          ctx.step(await totpSkip());
        } catch (error) {
          ctx.fail(error, errors);
        }
      });
    });
  }

  return card(
    "totp_setup",
    false,
    heading(t("totp.title")),
    lead(t("totp.lead")),
    h(
      "ol",
      { class: "steps" },
      h("li", {}, h("h2", {}, t("totp.step_scan")), figure),
      h(
        "li",
        {},
        h("h2", {}, t("totp.step_key")),
        h("p", { class: "muted" }, t("totp.account", { issuer: setup.issuer, account: setup.account })),
        h("div", { class: "secret-row" }, key, copy, copyStatus),
      ),
      h("li", {}, h("h2", {}, t("totp.step_confirm")), formElement),
    ),
    actions(leave),
  );
}
