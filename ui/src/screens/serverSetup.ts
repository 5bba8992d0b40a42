// First run (or "change server"): the address of the company's Latchkey server, a
// connection test that saves nothing, and "save" which starts over with the new server.
import { serverSave, serverTest } from "../api";
import { errorRegion } from "../components/errors";
import type { Ctx } from "../context";
import { button, field, form, h, heading, linkButton, runBusy } from "../dom";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { actions, card, lead } from "./common";

export function serverSetupScreen(ctx: Ctx, view: ViewOf<"server_setup">): HTMLElement {
  const errors = errorRegion();
  const url = field(
    t("server.url_label"),
    {
      name: "server_url",
      type: "url",
      inputmode: "url",
      autocomplete: "url",
      autocapitalize: "off",
      spellcheck: "false",
      placeholder: "https://",
      required: true,
      value: view.suggestedUrl ?? ctx.server?.url ?? "",
    },
    t("server.url_hint"),
  );
  const result = h("div", { class: "test-result", role: "status", "data-testid": "server-test-result" });
  const test = button(t("server.test"), { "data-testid": "server-test" }, "secondary");
  const save = h("button", { type: "submit", class: "button primary", "data-testid": "server-save" }, t("server.save"));

  function address(): string | null {
    const value = url.input.value.trim();
    if (value === "") {
      errors.showUi("url_required");
      return null;
    }
    return value;
  }

  const formElement = form({ class: "stack" }, async () => {
    errors.clear();
    const value = address();
    if (value === null) return;
    try {
      const start = await serverSave(value);
      ctx.serverChanged(start.server, start.step);
    } catch (error) {
      ctx.fail(error, errors);
    }
  });

  test.addEventListener("click", () => {
    void runBusy(formElement, test, async () => {
      errors.clear();
      result.replaceChildren();
      const value = address();
      if (value === null) return;
      try {
        const info = await serverTest(value);
        result.replaceChildren(
          h("p", { class: "success-text" }, t("server.test_ok", { name: info.server_name })),
          h("p", { class: "muted" }, info.url),
        );
      } catch (error) {
        ctx.fail(error, errors);
      }
    });
  });

  let cancel: HTMLButtonElement | null = null;
  if (view.canCancel && ctx.server) {
    cancel = linkButton(t("common.cancel"), { "data-testid": "server-cancel" });
    cancel.addEventListener("click", () =>
      ctx.go({ screen: "sign_in", identifier: ctx.identifier, remember: true, notice: null }),
    );
  }

  formElement.append(url.wrapper, errors.element, result, h("div", { class: "buttons" }, save, test));
  return card("server_setup", false, heading(t("server.title")), lead(t("server.lead")), formElement, actions(cancel));
}
