// Sign in: identifier, password (show/hide, Caps Lock warning), remember me, and the
// ways out — forgot password, change server (unless IT provisioned it), support contact.
// The password is cleared after every attempt; it never leaves the input but for the
// `sign_in` command.
import { signIn } from "../api";
import { errorRegion } from "../components/errors";
import { passwordField } from "../components/password";
import type { Ctx } from "../context";
import { checkbox, field, form, h, heading, linkButton } from "../dom";
import { t } from "../i18n";
import type { ViewOf } from "../views";
import { card, notice, supportBlock } from "./common";

export function signInScreen(ctx: Ctx, view: ViewOf<"sign_in">): HTMLElement {
  const server = ctx.server;
  const errors = errorRegion();
  const identifier = field(t("signin.identifier"), {
    name: "identifier",
    type: "text",
    autocomplete: "username",
    autocapitalize: "off",
    spellcheck: "false",
    required: true,
    value: view.identifier ?? "",
  });
  const password = passwordField(t("signin.password"), "current-password", "password");
  // No promise of an offline sign-in where IT turned it off on this computer.
  const offlineDays = ctx.offlineSignin ? (server?.offline_days ?? 0) : 0;
  const remember = checkbox(t("signin.remember"), { name: "remember", checked: view.remember });
  const rememberHint = h(
    "p",
    { class: "hint", id: `${remember.input.id}-hint` },
    offlineDays > 0 ? t("signin.remember_hint_offline", { days: offlineDays }) : t("signin.remember_hint"),
  );
  remember.input.setAttribute("aria-describedby", rememberHint.id);
  remember.wrapper.append(rememberHint);
  if (view.identifier) password.input.dataset.autofocus = "true";

  const submit = h("button", { type: "submit", class: "button primary block", "data-testid": "sign-in-submit" }, t("signin.submit"));

  const formElement = form({ class: "stack" }, async () => {
    errors.clear();
    const id = identifier.input.value.trim();
    const secret = password.input.value;
    if (id === "") {
      errors.showUi("identifier_required");
      return;
    }
    if (secret === "") {
      errors.showUi("password_required");
      return;
    }
    ctx.identifier = id;
    password.input.value = "";
    try {
      const step = await signIn(id, secret, remember.input.checked);
      ctx.step(step);
    } catch (error) {
      ctx.fail(error, errors);
    }
  });

  const links = h("div", { class: "form-links" });
  if (!server || server.recovery_channels.length > 0) {
    const resetLink = linkButton(t("signin.forgot"), { "data-testid": "reset-start-link" });
    resetLink.addEventListener("click", () =>
      ctx.go({ screen: "reset_start", identifier: identifier.input.value.trim() || (ctx.identifier ?? "") }),
    );
    links.append(resetLink);
  }
  formElement.append(identifier.wrapper, password.wrapper, links, remember.wrapper, errors.element, submit);

  const serverLine = h("div", { class: "server-line" });
  if (server) {
    serverLine.append(h("span", { class: "muted" }, t("signin.server", { url: server.url })));
    if (!server.provisioned) {
      const change = linkButton(t("signin.change_server"), { "data-testid": "change-server" });
      change.addEventListener("click", () => ctx.go({ screen: "server_setup", suggestedUrl: server.url, canCancel: true }));
      serverLine.append(change);
    }
  }

  return card(
    "sign_in",
    false,
    notice(view.notice),
    heading(t("signin.title")),
    h("p", { class: "lead" }, server ? t("signin.lead_server", { name: server.server_name }) : t("signin.lead")),
    formElement,
    serverLine,
    supportBlock(server),
  );
}
