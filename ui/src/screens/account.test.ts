// The account page and its sub-screens: details, revoke, sign out (here or everywhere),
// forget this device, change password, two-step verification off/on, new recovery
// codes, offline mode.
import { afterEach, describe, expect, it } from "vitest";
import type { App } from "../app";
import { ACCOUNT, DETAILS, byAutocomplete, byTestId, fail, flush, ipc, reset, screenName, showView, submit, type } from "../test/harness";
import type { View } from "../views";

afterEach(reset);

const SIGN_IN_STEP = { step: "sign_in", identifier: "zwei", remember: true };

function signedIn(view: View, offline = false, locale: "en" | "zh-CN" = "en"): { app: App; root: HTMLElement } {
  const shown = showView({ screen: "loading" }, locale);
  shown.app.signedIn = { account: ACCOUNT, offline, remembered: true, keychainAvailable: !offline };
  shown.app.go(view);
  return shown;
}

describe("account", () => {
  it("shows profile, security, sessions and translated activity from account_details", async () => {
    const calls = ipc({ account_details: DETAILS });
    const { root } = signedIn({ screen: "account", notice: null });
    expect(byTestId(root, "profile").textContent).toContain("zhang.wei@corp.example");
    await flush();
    expect(calls.map((c) => c.cmd)).toEqual(["account_details", "launcher_apps", "signed_in_apps"]);
    expect(root.textContent).toContain("7 unused codes left");
    expect(byTestId(root, "totp-disable")).toBeTruthy();
    expect(root.querySelector("[data-testid=revoke-s1]")).toBeNull();
    expect(byTestId(root, "revoke-s2").getAttribute("aria-label")).toBe("Sign out MacBook");
    const activity = byTestId(root, "activity").textContent ?? "";
    expect(activity).toContain("Failed sign-in attempt");
    expect(activity).toContain("Wrong password");
    expect(activity).toContain("Security event");
    expect(activity).not.toContain("some_future_event");
  });

  it("counts the recovery codes left, with one and none said apart, in both languages", async () => {
    const cases: Array<[number | null, "en" | "zh-CN", string]> = [
      [1, "en", "1 unused code left"],
      [0, "en", "No unused codes left: generate new ones"],
      [null, "en", "Number of unused codes unknown"],
      [3, "zh-CN", "剩余 3 个未使用的恢复码"],
      [0, "zh-CN", "恢复码已用完，请重新生成"],
    ];
    for (const [left, locale, text] of cases) {
      ipc({ account_details: { ...DETAILS, recovery_codes_left: left } });
      const { root } = signedIn({ screen: "account", notice: null }, false, locale);
      await flush();
      expect(byTestId(root, "codes-left").textContent).toBe(text);
      reset();
    }
  });

  it("keeps its buttons, and the focus on one, when the details arrive", async () => {
    ipc({ account_details: DETAILS });
    const shown = showView({ screen: "loading" });
    shown.app.signedIn = { account: { ...ACCOUNT, mfa_enabled: true }, offline: false, remembered: true, keychainAvailable: true };
    shown.app.go({ screen: "account", notice: null });
    const root = shown.root;
    const regenerate = byTestId<HTMLButtonElement>(root, "codes-regenerate");
    const change = byTestId<HTMLButtonElement>(root, "account-change-password");
    change.focus();
    expect(byTestId(root, "codes-left").textContent).toBe("Number of unused codes unknown");
    await flush();
    expect(byTestId(root, "codes-left").textContent).toBe("7 unused codes left");
    expect(root.textContent).toContain("Expires on");
    expect(byTestId(root, "codes-regenerate")).toBe(regenerate);
    expect(byTestId(root, "account-change-password")).toBe(change);
    expect(document.activeElement).toBe(change);
    regenerate.click();
    expect(screenName(root)).toBe("regenerate_codes");
  });

  it("revokes another session and reloads the list", async () => {
    let revoked = false;
    const calls = ipc({
      account_details: () => (revoked ? { ...DETAILS, sessions: DETAILS.sessions.slice(0, 1) } : DETAILS),
      session_revoke: () => {
        revoked = true;
        return null;
      },
    });
    const { root } = signedIn({ screen: "account", notice: null });
    await flush();
    byTestId(root, "revoke-s2").click();
    await flush();
    expect(calls.find((c) => c.cmd === "session_revoke")?.args).toEqual({ id: "s2" });
    expect(root.querySelector("[data-testid=revoke-s2]")).toBeNull();
    expect(byTestId(root, "account-status").textContent).toBe("MacBook was signed out.");
  });

  it("signs out, and forgets the device after confirming", async () => {
    const calls = ipc({ account_details: DETAILS, sign_out: SIGN_IN_STEP, forget_device: { step: "server_setup", suggested_url: null } });
    const { root } = signedIn({ screen: "account", notice: null });
    await flush();
    byTestId(root, "sign-out").click();
    await flush();
    expect(screenName(root)).toBe("sign_in");

    const other = signedIn({ screen: "account", notice: null }).root;
    await flush();
    byTestId(other, "forget-device").click();
    expect(calls.map((c) => c.cmd)).not.toContain("forget_device");
    expect(document.activeElement).toBe(byTestId(other, "forget-cancel"));
    byTestId(other, "forget-confirm").click();
    await flush();
    expect(calls.map((c) => c.cmd)).toContain("forget_device");
    expect(screenName(other)).toBe("server_setup");
  });

  it("signs out everywhere after confirming; cancel puts the focus back; a failure stays on the page", async () => {
    const calls = ipc({ account_details: DETAILS, sign_out_everywhere: SIGN_IN_STEP });
    const { root } = signedIn({ screen: "account", notice: null });
    await flush();
    const everywhere = byTestId<HTMLButtonElement>(root, "sign-out-everywhere");
    everywhere.click();
    expect(root.textContent).toContain("this one too");
    byTestId(root, "sign-out-everywhere-cancel").click();
    expect(document.activeElement).toBe(everywhere);
    expect(calls.map((c) => c.cmd)).not.toContain("sign_out_everywhere");
    everywhere.click();
    byTestId(root, "sign-out-everywhere-confirm").click();
    await flush();
    expect(calls.map((c) => c.cmd)).toContain("sign_out_everywhere");
    expect(screenName(root)).toBe("sign_in");

    ipc({ account_details: DETAILS, sign_out_everywhere: fail("connection_refused") });
    const other = signedIn({ screen: "account", notice: null }, false, "zh-CN").root;
    await flush();
    byTestId(other, "sign-out-everywhere").click();
    expect(other.textContent).toContain("包括这台电脑");
    byTestId(other, "sign-out-everywhere-confirm").click();
    await flush();
    expect(screenName(other)).toBe("account");
    expect(byTestId(other, "error").hidden).toBe(false);
  });

  it("offline: shows the cached profile, no server calls, actions disabled, banner on", () => {
    const calls = ipc({});
    const { root } = signedIn({ screen: "account", notice: null }, true);
    expect(calls).toEqual([]);
    expect(byTestId(root, "offline-note")).toBeTruthy();
    expect(byTestId<HTMLButtonElement>(root, "account-change-password").disabled).toBe(true);
    expect(byTestId<HTMLButtonElement>(root, "sign-out-everywhere").disabled).toBe(true);
    const banner = document.querySelector<HTMLElement>("[data-testid=offline-banner]");
    expect(banner?.hidden).toBe(false);
    expect(banner?.textContent).toContain("signed in offline");
    // Remembered, and the keychain not answering: it went away during the session.
    expect(byTestId(root, "keychain-note").textContent).toContain("cannot be reached right now");
  });

  it("says which keychain note applies: none at sign-in, or gone for now", () => {
    ipc({ account_details: DETAILS });
    const none = showView({ screen: "loading" }, "en");
    none.app.signedIn = { account: ACCOUNT, offline: false, remembered: false, keychainAvailable: false };
    none.app.go({ screen: "account", notice: null });
    expect(byTestId(none.root, "keychain-note").textContent).toContain("no keychain");
    const away = signedIn({ screen: "account", notice: null });
    expect(away.root.querySelector("[data-testid=keychain-note]")).toBeNull();
    away.app.signedIn = { account: ACCOUNT, offline: false, remembered: true, keychainAvailable: false };
    away.app.go({ screen: "account", notice: null });
    expect(byTestId(away.root, "keychain-note").textContent).toContain("remembers you again");
  });

  it("each load says whether the keychain is there now: the note comes and goes with it", async () => {
    let keychain = false;
    ipc({ account_details: () => ({ ...DETAILS, keychain_available: keychain }) });
    const { app, root } = signedIn({ screen: "account", notice: null });
    expect(root.querySelector("[data-testid=keychain-note]")).toBeNull();
    await flush();
    expect(byTestId(root, "keychain-note").textContent).toContain("remembers you again");
    keychain = true;
    app.go({ screen: "account", notice: null });
    await flush();
    expect(root.querySelector("[data-testid=keychain-note]")).toBeNull();
  });

  it("warns of a password that expires within the policy's days, with a way to change it", async () => {
    const soon = new Date(Date.now() + 3 * 86_400_000).toISOString();
    const later = new Date(Date.now() + 30 * 86_400_000).toISOString();
    ipc({ account_details: { ...DETAILS, password_expires_at: later } });
    const quiet = signedIn({ screen: "account", notice: null });
    await flush();
    expect(quiet.root.querySelector("[data-testid=password-expiry]")).toBeNull();
    reset();
    ipc({ account_details: { ...DETAILS, password_expires_at: soon } });
    const { root } = signedIn({ screen: "account", notice: null }, false, "zh-CN");
    await flush();
    expect(byTestId(root, "password-expiry").textContent).toContain("您的密码将于");
    byTestId(root, "password-expiry-change").click();
    expect(screenName(root)).toBe("account_password");
  });

  it("reminds of the organisation's two-step verification until its date", async () => {
    ipc({ account_details: { ...DETAILS, two_factor_required_by: "2030-07-01T00:00:00Z" } });
    const { root } = signedIn({ screen: "account", notice: null }, false, "zh-CN");
    await flush();
    const note = byTestId(root, "two-factor-due").textContent ?? "";
    expect(note).toContain("贵单位要求开启两步验证");
    expect(note).toContain("2030");
  });

  it("a required setup (two_factor_setup_required) asks for the password with no way around but signing out", async () => {
    const calls = ipc({ account_details: fail("two_factor_setup_required"), sign_out: SIGN_IN_STEP });
    const { root } = signedIn({ screen: "account", notice: null });
    await flush();
    expect(screenName(root)).toBe("totp_enable");
    expect(root.textContent).toContain("Your organisation requires two-step verification");
    expect(root.querySelector("[data-testid=account-back]")).toBeNull();
    byTestId(root, "sign-out").click();
    await flush();
    expect(calls.map((c) => c.cmd)).toContain("sign_out");
    expect(screenName(root)).toBe("sign_in");
  });

  it("a session_expired while signed in ends the session", async () => {
    ipc({ account_details: fail("session_expired") });
    const { root } = signedIn({ screen: "account", notice: null });
    await flush();
    expect(screenName(root)).toBe("sign_in");
    expect(byTestId(root, "notice").textContent).toContain("session has expired");
  });

  it("turns two-step verification on through the setup screen", async () => {
    const calls = ipc({
      account_details: { ...DETAILS, summary: ACCOUNT },
      totp_begin: { qr_svg: "<svg xmlns='http://www.w3.org/2000/svg'/>", secret_groups: ["ABCD"], issuer: "Corp", account: "z" },
    });
    const { root } = signedIn({ screen: "account", notice: null });
    await flush();
    byTestId(root, "totp-enable").click();
    await flush();
    // The server asks for the password again first.
    expect(screenName(root)).toBe("totp_enable");
    type(byAutocomplete(root, "current-password"), "my password");
    submit(byTestId(root, "totp-enable-submit"));
    await flush();
    expect(calls.find((c) => c.cmd === "totp_begin")?.args).toEqual({ password: "my password" });
    expect(screenName(root)).toBe("totp_setup");
    byTestId(root, "totp-cancel").click();
    expect(screenName(root)).toBe("account");
  });
});

describe("account sub-screens", () => {
  it("changes the password with the current one, clearing both", async () => {
    const calls = ipc({
      password_strength: { score: 4, accepted: true, too_long: false, reasons: [], suggestions: [] },
      change_password: null,
      account_details: DETAILS,
    });
    const { root } = signedIn({ screen: "account_password" });
    const current = byAutocomplete(root, "current-password");
    expect(document.activeElement).toBe(current);
    type(current, "old password 1");
    type(byAutocomplete(root, "new-password", 0), "plum river lantern 42");
    type(byAutocomplete(root, "new-password", 1), "plum river lantern 42");
    await flush();
    submit(current);
    await flush();
    expect(calls.find((c) => c.cmd === "change_password")?.args).toEqual({ currentPassword: "old password 1", newPassword: "plum river lantern 42" });
    expect(screenName(root)).toBe("account");
    expect(byTestId(root, "notice").textContent).toBe("Your password was changed.");
  });

  it("shows current_password_invalid and clears the current password", async () => {
    ipc({ password_strength: { score: 4, accepted: true, too_long: false, reasons: [], suggestions: [] }, change_password: fail("current_password_invalid") });
    const { root } = signedIn({ screen: "account_password" }, false, "zh-CN");
    type(byAutocomplete(root, "current-password"), "wrong");
    type(byAutocomplete(root, "new-password", 0), "plum river lantern 42");
    type(byAutocomplete(root, "new-password", 1), "plum river lantern 42");
    await flush();
    submit(byTestId(root, "account-password-submit"));
    await flush();
    expect(byTestId(root, "error").textContent).toContain("当前密码不正确");
    expect(byAutocomplete(root, "current-password").value).toBe("");
  });

  it("turns two-step verification off with password and code", async () => {
    const calls = ipc({ totp_disable: null, account_details: { ...DETAILS, summary: ACCOUNT } });
    const { root } = signedIn({ screen: "totp_disable" });
    type(byAutocomplete(root, "current-password"), "my password");
    type(byAutocomplete(root, "one-time-code"), "123456");
    submit(byTestId(root, "totp-disable-submit"));
    await flush();
    expect(calls[0]).toEqual({ cmd: "totp_disable", args: { password: "my password", code: "123456" } });
    expect(byTestId(root, "notice").textContent).toBe("Two-step verification is off.");
  });

  it("regenerates recovery codes with the password", async () => {
    const calls = ipc({ recovery_codes_regenerate: ["a", "b"] });
    const { root } = signedIn({ screen: "regenerate_codes" });
    type(byAutocomplete(root, "current-password"), "my password");
    submit(byTestId(root, "regenerate-submit"));
    await flush();
    expect(calls[0]).toEqual({ cmd: "recovery_codes_regenerate", args: { password: "my password" } });
    expect(screenName(root)).toBe("recovery_codes");
  });
});
