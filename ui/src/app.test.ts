// The shell: app_start's answers, start-up failures, the Rust side's events, and the
// language switch (every screen, remembered, typed values kept).
import { emit } from "@tauri-apps/api/event";
import { afterEach, describe, expect, it } from "vitest";
import { mount } from "./app";
import { END_REASONS } from "./codes";
import { ACCOUNT, DETAILS, SERVER, byAutocomplete, byTestId, fail, flush, ipc, reset, screenName, showView, submit, type } from "./test/harness";

afterEach(reset);

function root(): HTMLElement {
  document.body.replaceChildren();
  const element = document.createElement("div");
  document.body.append(element);
  return element;
}

const SIGN_IN = { server: SERVER, step: { step: "sign_in", identifier: "zwei", remember: true } };

describe("start", () => {
  it("asks app_start and shows sign in with the remembered account", async () => {
    const calls = ipc({ app_start: SIGN_IN });
    const element = root();
    await mount(element, "en");
    // The first screen is reported once painted, with the start-up's marks; then the
    // tray gets its words and an approval link that launched the app is asked for.
    expect(calls.map((c) => c.cmd)).toEqual(["app_start", "ui_ready", "tray_labels", "approval_pending", "update_offer"]);
    const ready = calls[1]?.args as { screen: string; marks: Array<[string, number]> };
    expect(ready.screen).toBe("sign_in");
    expect(ready.marks.map(([name]) => name)).toEqual(["navigation", "app_start", "rendered", "frame", "painted"]);
    expect(screenName(element)).toBe("sign_in");
    expect(byAutocomplete(element, "username").value).toBe("zwei");
    expect(document.documentElement.lang).toBe("en");
    expect(document.title).toBe("Latchkey");
  });

  it("speaks the language IT's managed settings force, with no language switch", async () => {
    ipc({ app_start: { ...SIGN_IN, language: "zh-CN" } });
    const element = root();
    await mount(element, "en");
    expect(screenName(element)).toBe("sign_in");
    expect(document.documentElement.lang).toBe("zh-CN");
    expect(element.querySelector('[data-testid="language"]')).toBeNull();
    expect(element.textContent).toContain("登录");
  });

  it("keeps the language switch when nothing is forced", async () => {
    ipc({ app_start: { ...SIGN_IN, language: null } });
    const element = root();
    await mount(element, "en");
    expect(document.documentElement.lang).toBe("en");
    expect(element.querySelector('[data-testid="language"]')).not.toBeNull();
  });

  it("shows server setup on first run, with IT's suggestion", async () => {
    ipc({ app_start: { server: null, step: { step: "server_setup", suggested_url: "https://sso.corp" } } });
    const element = root();
    await mount(element, "zh-CN");
    expect(screenName(element)).toBe("server_setup");
    expect(byAutocomplete(element, "url").value).toBe("https://sso.corp");
    expect(element.textContent).toContain("连接到服务器");
  });

  it("is signed in straight away when the keychain's session is still good", async () => {
    ipc({
      app_start: { server: SERVER, step: { step: "signed_in", account: ACCOUNT, offline: false, remembered: true, keychain_available: true } },
      account_details: fail("no_network"),
    });
    const element = root();
    await mount(element, "en");
    expect(screenName(element)).toBe("account");
  });

  it("goes to update required or maintenance when app_start says so, else shows the error", async () => {
    ipc({ app_start: fail("client_outdated", { min_version: "2.0.0", download_url: null }), app_version: "1.0.0" });
    const first = root();
    await mount(first, "en");
    expect(screenName(first)).toBe("update_required");

    ipc({ app_start: fail("timeout", { next_step: "check_network" }) });
    const second = root();
    await mount(second, "en");
    expect(screenName(second)).toBe("startup_error");
    expect(byTestId(second, "error").textContent).toContain("did not answer in time");
  });

  it("opens the new password of a reset link that launched the app, with the code field when the account has 2FA", async () => {
    ipc({ app_start: { server: SERVER, step: { step: "reset_password", methods: ["totp", "recovery_code"], account_hint: "z***@corp.cn" } } });
    const first = root();
    await mount(first, "en");
    expect(screenName(first)).toBe("reset_password");
    expect(first.textContent).toContain("You opened a password reset link.");
    expect(byTestId(first, "reset-account").textContent).toBe("Resetting the password of z***@corp.cn.");
    expect(byTestId<HTMLInputElement>(first, "reset-second-factor").autocomplete).toBe("one-time-code");
    expect(byTestId(first, "switch-method")).toBeTruthy();

    ipc({ app_start: { server: SERVER, step: { step: "reset_password", methods: [], account_hint: "z***@corp.cn" } } });
    const second = root();
    await mount(second, "en");
    expect(screenName(second)).toBe("reset_password");
    expect(second.querySelector("[data-testid=reset-second-factor]")).toBeNull();
  });

  it("turns a failure that is not an AppError into an internal error", async () => {
    ipc({ app_start: () => Promise.reject(new Error("boom")) });
    const original = console.error;
    console.error = () => {};
    const element = root();
    await mount(element, "en");
    console.error = original;
    expect(byTestId(element, "error").dataset.code).toBe("internal");
  });
});

describe("events", () => {
  it("deep-link-reset opened: the new password of the account the link resets, with the code field when it has 2FA", async () => {
    ipc({ app_start: SIGN_IN });
    const element = root();
    await mount(element, "en");
    await emit("deep-link-reset", { outcome: "opened", account_hint: "z***@corp.cn", methods: [] });
    await flush();
    expect(screenName(element)).toBe("reset_password");
    expect(element.textContent).toContain("You opened a password reset link.");
    expect(byTestId(element, "reset-account").textContent).toBe("Resetting the password of z***@corp.cn.");
    expect(element.querySelector("[data-testid=reset-second-factor]")).toBeNull();
    await emit("deep-link-reset", { outcome: "opened", account_hint: "138****8000", methods: ["totp", "recovery_code"] });
    await flush();
    expect(byTestId(element, "reset-account").textContent).toBe("Resetting the password of 138****8000.");
    expect(byTestId(element, "reset-second-factor")).toBeTruthy();
  });

  // Issue 13: a link in the middle of a sign-in names its account and asks before
  // throwing the sign-in away.
  it("deep-link-reset ask: a question naming the account; keep goes back, reset opens its new password", async () => {
    const calls = ipc({ app_start: SIGN_IN, reset_link_answer: null });
    const element = root();
    await mount(element, "zh-CN");
    const ask = { outcome: "ask", account_hint: "z***@corp.cn", methods: ["totp"] };
    await emit("deep-link-reset", ask);
    await flush();
    expect(screenName(element)).toBe("reset_link");
    expect(element.textContent).toContain("您打开了邮件中重置 z***@corp.cn 密码的链接。此处已开始的登录将被取消");
    byTestId(element, "reset-link-keep").click();
    await flush();
    expect(calls.at(-1)).toEqual({ cmd: "reset_link_answer", args: { open: false } });
    expect(screenName(element)).toBe("sign_in");
    await emit("deep-link-reset", ask);
    await flush();
    byTestId(element, "reset-link-open").click();
    await flush();
    expect(calls.at(-1)).toEqual({ cmd: "reset_link_answer", args: { open: true } });
    expect(screenName(element)).toBe("reset_password");
    expect(byTestId(element, "reset-account").textContent).toBe("正在重置 z***@corp.cn 的密码。");
    expect(byTestId(element, "reset-second-factor")).toBeTruthy();
  });

  it("deep-link-reset refused: an expired or used link is said so at once; back keeps the sign-in", async () => {
    const calls = ipc({ app_start: SIGN_IN });
    const element = root();
    await mount(element, "en");
    const error = { code: "session_expired", next_step: "start_over", retry_after: null, message: null, until: null, min_version: null, download_url: null, reasons: [], suggestions: [], attempts_left: null };
    await emit("deep-link-reset", { outcome: "refused", error });
    await flush();
    expect(screenName(element)).toBe("reset_link");
    expect(byTestId(element, "error").dataset.code).toBe("session_expired");
    expect(element.textContent).toContain("This link or session has expired or was already used.");
    expect(element.querySelector("[data-testid=reset-link-open]")).toBeNull();
    byTestId(element, "reset-link-back").click();
    await flush();
    expect(screenName(element)).toBe("sign_in");
    expect(calls.some((c) => c.cmd === "reset_link_answer")).toBe(false);
  });

  it("session-ended goes back to sign in with the reason explained", async () => {
    ipc({
      app_start: { server: SERVER, step: { step: "signed_in", account: ACCOUNT, offline: false, remembered: true, keychain_available: true } },
      account_details: fail("no_network"),
    });
    const element = root();
    await mount(element, "zh-CN");
    await emit("session-ended", { reason: "password_changed" });
    await flush();
    expect(screenName(element)).toBe("sign_in");
    expect(byTestId(element, "notice").textContent).toContain("您的密码已修改");
  });

  it.each([
    ["refresh_revoked", "此设备已被退出登录"],
    ["password_changed", "您的密码已修改"],
    ["account_disabled", "您的账号已被停用"],
  ])("session-ended %s has its own notice", async (reason, text) => {
    expect(END_REASONS).toContain(reason);
    ipc({
      app_start: { server: SERVER, step: { step: "signed_in", account: ACCOUNT, offline: true, remembered: true, keychain_available: true } },
    });
    const element = root();
    await mount(element, "zh-CN");
    await emit("session-ended", { reason });
    await flush();
    expect(screenName(element)).toBe("sign_in");
    expect(byTestId(element, "notice").textContent).toContain(text);
    expect(byTestId(element, "offline-banner").hidden).toBe(true);
  });

  it("connectivity updates the banner; back online ends the offline session's banner", async () => {
    const calls = ipc({
      app_start: { server: SERVER, step: { step: "signed_in", account: ACCOUNT, offline: true, remembered: true, keychain_available: true } },
      account_details: DETAILS,
    });
    const element = root();
    await mount(element, "en");
    const banner = byTestId(element, "offline-banner");
    expect(banner.hidden).toBe(false);
    expect(banner.textContent).toContain("7 days");
    expect(calls.map((c) => c.cmd)).not.toContain("account_details");
    await emit("connectivity", { online: true });
    await flush();
    expect(banner.hidden).toBe(true);
    expect(calls.map((c) => c.cmd)).toContain("account_details");
    await emit("connectivity", { online: false });
    await flush();
    expect(banner.hidden).toBe(false);
    expect(banner.textContent).toContain("connection to the server was lost");
  });
});

describe("the link to the server", () => {
  it("says it is reconnecting while the server does not answer, and stops by itself once it does", async () => {
    const calls = ipc({
      app_start: { server: SERVER, step: { step: "signed_in", account: ACCOUNT, offline: false, remembered: true, keychain_available: true } },
      account_details: DETAILS,
    });
    const element = root();
    await mount(element, "zh-CN");
    const banner = byTestId(element, "offline-banner");
    expect(banner.hidden).toBe(true);
    await emit("link", { up: false });
    await flush();
    expect(banner.hidden).toBe(false);
    expect(banner.textContent).toContain("正在重新连接");
    await emit("link", { up: false });
    await flush();
    expect(banner.hidden).toBe(false);
    const loads = calls.filter((c) => c.cmd === "account_details").length;
    await emit("link", { up: true });
    await flush();
    expect(banner.hidden).toBe(true);
    expect(screenName(element)).toBe("account");
    expect(calls.filter((c) => c.cmd === "account_details").length).toBe(loads + 1);
  });

  it("on the sign-in screen says the server cannot be reached until it answers", async () => {
    ipc({ app_start: SIGN_IN });
    const element = root();
    await mount(element, "en");
    const banner = byTestId(element, "offline-banner");
    await emit("link", { up: false });
    await flush();
    expect(banner.textContent).toContain("server cannot be reached");
    await emit("link", { up: true });
    await flush();
    expect(banner.hidden).toBe(true);
  });

  it("does not promise an offline sign-in where IT turned it off", async () => {
    ipc({ app_start: { ...SIGN_IN, offline_signin: false } });
    const element = root();
    await mount(element, "zh-CN");
    const banner = byTestId(element, "offline-banner");
    await emit("link", { up: false });
    await flush();
    expect(banner.textContent).toContain("已在这台电脑上关闭离线登录");
    expect(banner.textContent).not.toContain("仍可离线登录");
    // Nor does "remember me".
    expect(element.textContent).toContain("退出登录前将保持登录状态");
    expect(element.textContent).not.toContain("无网络时");
  });
});

describe("connection lost while signed in online", () => {
  it("a command that cannot reach the server shows the banner until one gets through", async () => {
    let reachable = false;
    ipc({ account_details: () => (reachable ? DETAILS : fail("connection_refused")()) });
    const shown = showView({ screen: "loading" });
    shown.app.signedIn = { account: ACCOUNT, offline: false, remembered: true, keychainAvailable: true };
    shown.app.go({ screen: "account", notice: null });
    await flush();
    const banner = byTestId(shown.root, "offline-banner");
    expect(banner.hidden).toBe(false);
    expect(banner.textContent).toContain("connection to the server was lost");
    reachable = true;
    shown.app.go({ screen: "account", notice: null });
    await flush();
    expect(banner.hidden).toBe(true);
  });

  it("a wrong answer from a reachable server does not", async () => {
    ipc({ account_details: fail("server_error") });
    const shown = showView({ screen: "loading" });
    shown.app.signedIn = { account: ACCOUNT, offline: false, remembered: true, keychainAvailable: true };
    shown.app.go({ screen: "account", notice: null });
    await flush();
    expect(byTestId(shown.root, "offline-banner").hidden).toBe(true);
  });
});

describe("language switch", () => {
  it("re-renders the current screen, keeps what was typed, keeps focus on the switch, remembers only the locale", async () => {
    ipc({ app_start: SIGN_IN });
    const element = root();
    await mount(element, "en");
    byAutocomplete(element, "username").value = "someone";
    byAutocomplete(element, "current-password").value = "secret-typed";
    const select = byTestId<HTMLSelectElement>(element, "language");
    expect(element.querySelector(`label[for="${select.id}"]`)?.textContent).toBe("Language");
    select.value = "zh-CN";
    select.dispatchEvent(new Event("change"));
    expect(element.querySelector("h1")?.textContent).toBe("登录");
    expect(byAutocomplete(element, "username").value).toBe("someone");
    expect(byAutocomplete(element, "current-password").value).toBe("secret-typed");
    expect(document.documentElement.lang).toBe("zh-CN");
    expect(document.activeElement).toBe(byTestId(element, "language"));
    expect(Object.keys(localStorage)).toEqual(["latchkey.locale"]);
    expect(localStorage.getItem("latchkey.locale")).toBe("zh-CN");
    expect(JSON.stringify({ ...localStorage })).not.toContain("secret-typed");
    expect(document.cookie).toBe("");
    expect(sessionStorage.length).toBe(0);
  });
});

describe("language switch with an error on screen", () => {
  it("shows the same error in the new language and leaves the focus on the switch", async () => {
    ipc({ app_start: SIGN_IN, sign_in: fail("invalid_credentials") });
    const element = root();
    await mount(element, "en");
    type(byAutocomplete(element, "username"), "someone");
    type(byAutocomplete(element, "current-password"), "wrong");
    submit(byTestId(element, "sign-in-submit"));
    await flush();
    const before = byTestId(element, "error");
    expect(before.hidden).toBe(false);
    const english = before.textContent ?? "";
    expect(english).toContain("password");
    const select = byTestId<HTMLSelectElement>(element, "language");
    select.value = "zh-CN";
    select.dispatchEvent(new Event("change"));
    const after = byTestId(element, "error");
    expect(after.hidden).toBe(false);
    expect(after.dataset.code).toBe("invalid_credentials");
    expect(after.textContent).not.toBe(english);
    expect(after.textContent).toMatch(/[\u4e00-\u9fff]/);
    expect(document.activeElement).toBe(byTestId(element, "language"));
  });

  it("re-shows the UI's own errors too, and shows none when none was shown", async () => {
    ipc({ app_start: SIGN_IN });
    const element = root();
    await mount(element, "en");
    const select = byTestId<HTMLSelectElement>(element, "language");
    select.value = "zh-CN";
    select.dispatchEvent(new Event("change"));
    expect(byTestId(element, "error").hidden).toBe(true);
    submit(byTestId(element, "sign-in-submit"));
    await flush();
    const chinese = byTestId(element, "error");
    expect(chinese.hidden).toBe(false);
    const code = chinese.dataset.code;
    select.value = "en";
    select.dispatchEvent(new Event("change"));
    const english = byTestId(element, "error");
    expect(english.hidden).toBe(false);
    expect(english.dataset.code).toBe(code);
    expect(english.textContent).not.toMatch(/[\u4e00-\u9fff]/);
  });
});

describe("errors that end the session", () => {
  it("a command answering refresh_revoked or password_changed goes back to sign in with the reason", async () => {
    ipc({ sign_in: fail("refresh_revoked") });
    const { root: element } = showView({ screen: "sign_in", identifier: "zwei", remember: true, notice: null });
    type(byAutocomplete(element, "current-password"), "pw");
    submit(byTestId(element, "sign-in-submit"));
    await flush();
    expect(screenName(element)).toBe("sign_in");
    expect(byTestId(element, "notice").textContent).toContain("This device was signed out");

    ipc({ account_details: fail("password_changed") });
    const shown = showView({ screen: "loading" });
    shown.app.signedIn = { account: ACCOUNT, offline: false, remembered: true, keychainAvailable: true };
    shown.app.go({ screen: "account", notice: null });
    await flush();
    expect(screenName(shown.root)).toBe("sign_in");
    expect(byTestId(shown.root, "notice").textContent).toContain("Your password was changed");
  });

  it("account_disabled on an account screen ends the session; at sign-in it is shown in place", async () => {
    ipc({ account_details: fail("account_disabled") });
    const shown = showView({ screen: "loading" });
    shown.app.signedIn = { account: ACCOUNT, offline: false, remembered: true, keychainAvailable: true };
    shown.app.go({ screen: "account", notice: null });
    await flush();
    expect(screenName(shown.root)).toBe("sign_in");
    expect(byTestId(shown.root, "notice").textContent).toContain("Your account was disabled");

    ipc({ sign_in: fail("account_disabled") });
    const { root: element } = showView({ screen: "sign_in", identifier: "zwei", remember: true, notice: null });
    type(byAutocomplete(element, "current-password"), "pw");
    submit(byTestId(element, "sign-in-submit"));
    await flush();
    expect(element.querySelector("[data-testid=notice]")).toBeNull();
    const error = byTestId(element, "error");
    expect(error.dataset.code).toBe("account_disabled");
    expect(error.textContent).toContain("This account is disabled.");
    expect(error.textContent).toContain("Contact your IT support.");
  });

  it("session_expired on the reset screen (a used or expired link) is shown in place, with start over", async () => {
    ipc({ password_strength: { score: 4, accepted: true, too_long: false, reasons: [], suggestions: [] }, reset_complete: fail("session_expired") });
    const { root: element } = showView({ screen: "reset_password", methods: [], fromLink: true, account: null });
    type(byAutocomplete(element, "new-password", 0), "plum river lantern 42");
    type(byAutocomplete(element, "new-password", 1), "plum river lantern 42");
    await flush();
    submit(byTestId(element, "reset-submit"));
    await flush();
    expect(screenName(element)).toBe("reset_password");
    const error = byTestId(element, "error");
    expect(error.textContent).toContain("This link or session has expired or was already used.");
    expect(error.textContent).toContain("Go back and start again.");
  });
});
