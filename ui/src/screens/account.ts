// The signed-in home: the company's applications (the launcher), profile, security (password, two-step verification, recovery
// codes), devices and sessions, the applications signed in through Latchkey, recent
// activity, sign out (here or everywhere) and forget
// this device.
// The profile from the sign-in shows at once; the rest comes from `account_details`
// (not while offline: then the server-side actions wait for the connection).
import { accountDetails, forgetDevice, sessionRevoke, signOut, signOutEverywhere } from "../api";
import type { AccountDetails } from "../bindings/AccountDetails";
import type { AccountSummary } from "../bindings/AccountSummary";
import { activityList, sessionList } from "../components/accountLists";
import { errorRegion } from "../components/errors";
import { loadLauncher, loadSignedInApps } from "../components/launcher";
import type { Ctx } from "../context";
import { button, h, heading, runBusy } from "../dom";
import { formatDate, t } from "../i18n";
import type { ViewOf } from "../views";
import { card, notice } from "./common";

export function accountScreen(ctx: Ctx, view: ViewOf<"account">): HTMLElement {
  const signedIn = ctx.signedIn;
  const errors = errorRegion();
  const status = h("p", { class: "success-text", role: "status", "data-testid": "account-status" });
  const offline = signedIn?.offline ?? false;
  const summary = signedIn?.account ?? null;

  const launcher = section("launcher", t("launcher.title"));
  const apps = section("apps", t("apps.title"));
  const profile = section("profile", t("account.profile"));
  const security = section("security", t("account.security"));
  const sessions = section("sessions", t("account.sessions"));
  const activity = section("activity", t("account.activity"));

  // The security rows are built from what the sign-in said, and the details only fill in
  // their values: the buttons stay the same elements, so a click that lands as the
  // details arrive, or the keyboard's focus on a button, is not lost. They are built
  // again only when two-step verification turned out to be on or off after all.
  const passwordValue = h("p", { class: "muted" });
  const codesValue = h("p", { class: "muted", "data-testid": "codes-left" });
  let builtFor: boolean | null = null;

  const title = heading(summary?.display_name ?? t("account.title"));
  renderProfile(profile.body, summary);
  renderSecurity(null);
  if (offline) {
    const wait = t("account.needs_connection");
    for (const panel of [launcher, sessions, apps, activity]) panel.body.replaceChildren(h("p", { class: "muted" }, wait));
  } else {
    const loading = () => h("p", { class: "muted", role: "status" }, t("loading.text"));
    for (const panel of [launcher, sessions, apps, activity]) panel.body.replaceChildren(loading());
    void load();
    void loadLauncher({ ctx, body: launcher.body, status, errors });
    void loadSignedInApps({ ctx, body: apps.body, status, errors });
  }

  async function load(): Promise<void> {
    try {
      const details = await accountDetails();
      ctx.reached();
      showKeychain(details.keychain_available);
      const expires = details.password_expires_at;
      if (expires !== null && Date.parse(expires) - Date.now() <= details.password_expiry_warning_days * 86_400_000) {
        const warning = h("p", { class: "notice warning", "data-testid": "password-expiry" }, t("account.password_expiry_warning", { date: formatDate(expires) }), " ");
        const change = button(t("account.change_password"), { "data-testid": "password-expiry-change" }, "secondary");
        change.addEventListener("click", () => ctx.go({ screen: "account_password" }));
        warning.append(change);
        notes.append(warning);
      }
      if (details.two_factor_required_by !== null) {
        const by = formatDate(details.two_factor_required_by);
        notes.append(h("p", { class: "notice warning", "data-testid": "two-factor-due" }, t("account.two_factor_due", { date: by })));
      }
      title.textContent = details.summary.display_name;
      renderProfile(profile.body, details.summary);
      renderSecurity(details);
      renderSessions(details);
      activity.body.replaceChildren(activityList(details.activity));
    } catch (error) {
      ctx.fail(error, errors);
      sessions.body.replaceChildren(h("p", { class: "muted" }, t("account.unavailable")));
      activity.body.replaceChildren(h("p", { class: "muted" }, t("account.unavailable")));
    }
  }

  function showKeychain(available: boolean): void {
    notes.querySelector("[data-testid=keychain-note]")?.remove();
    if (available || signedIn === null) return;
    const note = signedIn.remembered ? t("account.keychain_away") : t("account.no_keychain");
    notes.append(h("p", { class: "notice info", "data-testid": "keychain-note" }, note));
  }

  function renderSessions(details: AccountDetails): void {
    sessions.body.replaceChildren(
      sessionList(
        details.sessions,
        (session, revoke) => {
          void runBusy(sessions.body, revoke, async () => {
            errors.clear();
            try {
              await sessionRevoke(session.id);
              status.textContent = t("account.revoked", { device: session.device_name });
              await load();
            } catch (error) {
              ctx.fail(error, errors);
            }
          });
        },
        !offline,
      ),
    );
  }

  function renderSecurity(details: AccountDetails | null): void {
    const account = details?.summary ?? summary;
    const mfa = account?.mfa_enabled ?? false;
    if (builtFor !== mfa) {
      builtFor = mfa;
      buildSecurity(mfa);
    }
    const expires = details?.password_expires_at ?? null;
    passwordValue.textContent =
      details === null ? "" : expires === null ? t("account.password_no_expiry") : t("account.password_expires", { date: formatDate(expires) });
    passwordValue.hidden = passwordValue.textContent === "";
    codesValue.textContent = codesLeft(details?.recovery_codes_left ?? null);
  }

  function buildSecurity(mfa: boolean): void {
    const changePassword = button(t("account.change_password"), { "data-testid": "account-change-password", disabled: offline }, "secondary");
    changePassword.addEventListener("click", () => ctx.go({ screen: "account_password" }));

    const toggle = button(mfa ? t("account.totp_off") : t("account.totp_on"), { "data-testid": mfa ? "totp-disable" : "totp-enable", disabled: offline }, "secondary");
    toggle.addEventListener("click", () => {
      ctx.go({ screen: mfa ? "totp_disable" : "totp_enable" });
    });

    const totpValue = h("p", { class: "muted" }, mfa ? t("account.totp_enabled") : t("account.totp_disabled"));
    const rows = [setting(t("account.password"), passwordValue, changePassword), setting(t("account.totp"), totpValue, toggle)];
    if (mfa) {
      const regenerate = button(t("account.codes_regenerate"), { "data-testid": "codes-regenerate", disabled: offline }, "secondary");
      regenerate.addEventListener("click", () => ctx.go({ screen: "regenerate_codes" }));
      rows.push(setting(t("account.codes"), codesValue, regenerate));
    }
    security.body.replaceChildren(h("ul", { class: "rows" }, ...rows));
  }

  // Sign out / sign out everywhere / forget this device (the last two after an inline
  // confirmation; everywhere needs the server, so not offline).
  const signOutButton = button(t("account.sign_out"), { "data-testid": "sign-out" }, "secondary");
  const everywhere = button(t("account.sign_out_all"), { "data-testid": "sign-out-everywhere", disabled: offline }, "secondary");
  const forget = button(t("account.forget"), { "data-testid": "forget-device" }, "secondary");
  const confirm = h("div", { class: "confirm", hidden: true, role: "group", "aria-labelledby": "account-confirm-text" });
  const footer = h("div", { class: "account-footer" }, h("div", { class: "buttons" }, signOutButton, everywhere, forget), confirm);
  const leave = (task: () => Promise<unknown>, busy: HTMLButtonElement) =>
    void runBusy(footer, busy, async () => {
      errors.clear();
      try {
        const step = await task();
        ctx.step(step as Parameters<Ctx["step"]>[0]);
      } catch (error) {
        ctx.fail(error, errors);
      }
    });
  const ask = (from: HTMLButtonElement, name: string, text: string, yesLabel: string, task: () => Promise<unknown>) => {
    const yes = button(yesLabel, { "data-testid": `${name}-confirm` }, "danger");
    const no = button(t("common.cancel"), { "data-testid": `${name}-cancel` }, "secondary");
    confirm.replaceChildren(h("p", { id: "account-confirm-text" }, text), h("div", { class: "buttons" }, yes, no));
    confirm.hidden = false;
    yes.addEventListener("click", () => leave(task, yes));
    no.addEventListener("click", () => {
      confirm.hidden = true;
      from.focus();
    });
    no.focus();
  };
  signOutButton.addEventListener("click", () => leave(signOut, signOutButton));
  everywhere.addEventListener("click", () =>
    ask(everywhere, "sign-out-everywhere", t("account.sign_out_all_text"), t("account.sign_out_all_confirm"), signOutEverywhere),
  );
  forget.addEventListener("click", () => ask(forget, "forget", t("account.forget_text"), t("account.forget_confirm"), forgetDevice));

  const notes = h("div", { class: "notes" });
  if (offline) notes.append(h("p", { class: "notice warning", "data-testid": "offline-note" }, t("account.offline_note")));
  // Remembered, yet no keychain: it went away during the session (issue 21); the app
  // keeps the session and remembers again once the keychain is back. Each load of the
  // account says how it is now.
  showKeychain(signedIn?.keychainAvailable ?? true);

  return card(
    "account",
    true,
    notice(view.notice),
    h("div", { class: "account-head" }, title, summary?.organisation ? h("p", { class: "muted" }, summary.organisation) : null),
    notes,
    errors.element,
    status,
    launcher.element,
    h("div", { class: "sections" }, profile.element, security.element, sessions.element, apps.element, activity.element),
    footer,
  );
}

function section(name: string, title: string): { element: HTMLElement; body: HTMLDivElement } {
  const id = `account-${name}`;
  const body = h("div", { class: "section-body" });
  const element = h("section", { class: `panel panel-${name}`, "aria-labelledby": id }, h("h2", { id }, title), body);
  return { element, body };
}

function setting(label: string, value: HTMLElement, action: HTMLElement): HTMLLIElement {
  return h("li", { class: "row" }, h("div", { class: "row-main" }, h("p", { class: "row-title" }, label), value), action);
}

/** "N unused codes left", with the one and none cases of their own. */
function codesLeft(left: number | null): string {
  if (left === null) return t("account.codes_unknown");
  if (left === 0) return t("account.codes_left_none");
  if (left === 1) return t("account.codes_left_one");
  return t("account.codes_left", { n: left });
}

function renderProfile(body: HTMLElement, summary: AccountSummary | null): void {
  if (summary === null) {
    body.replaceChildren();
    return;
  }
  const list = h("dl", { class: "profile", "data-testid": "profile" });
  const add = (label: string, value: string | null) => {
    if (value) list.append(h("dt", {}, label), h("dd", {}, value));
  };
  add(t("account.name"), summary.display_name);
  add(t("account.email"), summary.email);
  add(t("account.phone"), summary.phone);
  add(t("account.username"), summary.username);
  add(t("account.organisation"), summary.organisation);
  body.replaceChildren(list);
}
