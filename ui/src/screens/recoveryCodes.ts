// The 10 recovery codes, shown once: copy, save as a .txt file (the OS save dialog,
// through the app), print, and "I saved them" to go on. After a first-time setup or enabling 2FA `totp_done` gives the next
// step; after regenerating, back to the account.
import { recoveryCodesSave, totpDone } from "../api";
import { errorRegion } from "../components/errors";
import type { Ctx } from "../context";
import { button, copyText, h, heading, runBusy } from "../dom";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { card, lead } from "./common";

/** The text file: a heading line, then one code a line (CRLF, for Notepad). */
export function codesFile(codes: readonly string[], account: string | null): string {
  const lines = [t("codes.file_title"), account ?? "", "", ...codes, "", t("codes.file_note")];
  return lines.join("\r\n") + "\r\n";
}

export function recoveryCodesScreen(ctx: Ctx, view: ViewOf<"recovery_codes">): HTMLElement {
  const errors = errorRegion();
  const status = h("p", { class: "success-text", role: "status", "data-testid": "codes-status" });
  const list = h("ol", { class: "codes selectable print-area", "data-testid": "recovery-codes" }, ...view.codes.map((c) => h("li", {}, h("code", {}, c))));
  const account = ctx.signedIn?.account.email ?? ctx.signedIn?.account.username ?? ctx.identifier;

  const copy = button(t("codes.copy"), { "data-testid": "codes-copy" }, "secondary");
  copy.addEventListener("click", () => {
    void copyText(view.codes.join("\n")).then((ok) => {
      status.textContent = ok ? t("common.copied") : t("common.copy_failed");
    });
  });
  // Through the app's own command and the OS save dialog: the web view ignores
  // `<a download>` (tauri issue 2225). "Saved" only once the file is written.
  const save = button(t("codes.save"), { "data-testid": "codes-save" }, "secondary");
  save.addEventListener("click", () => {
    errors.clear();
    status.textContent = "";
    void runBusy(tools, save, async () => {
      try {
        const answer = await recoveryCodesSave(codesFile(view.codes, account), t("codes.save_title"));
        status.textContent = answer.result === "saved" ? t("codes.saved", { file: answer.file_name }) : t("codes.not_saved");
      } catch (error) {
        ctx.fail(error, errors);
      }
    });
  });
  const print = button(t("codes.print"), { "data-testid": "codes-print" }, "secondary");
  print.addEventListener("click", () => window.print());
  const tools = h("div", { class: "buttons wrap" }, copy, save, print);

  const done = button(t("codes.done"), { "data-testid": "codes-done" });
  const doneRow = h("div", { class: "buttons" }, done);
  done.addEventListener("click", () => {
    void runBusy(doneRow, done, async () => {
      if (view.mode === "regenerate") {
        ctx.go({ screen: "account", notice: { key: "account.codes_regenerated", tone: "success" } });
        return;
      }
      try {
        ctx.step(await totpDone());
      } catch (error) {
        ctx.fail(error, errors);
      }
    });
  });

  return card(
    "recovery_codes",
    false,
    heading(t("codes.title")),
    lead(t("codes.lead")),
    h("p", { class: "warning-text" }, t("codes.once")),
    list,
    tools,
    status,
    errors.element,
    doneRow,
  );
}
