// Two-step verification: the offer, the setup (QR, key, copy, confirm) and the recovery
// codes (copy, save, print, done).
import { afterEach, describe, expect, it, vi } from "vitest";
import { ACCOUNT, byAutocomplete, byTestId, fail, flush, ipc, reset, screenName, showView, submit, type } from "../test/harness";
import type { TotpSetup } from "../bindings/TotpSetup";

afterEach(reset);

const SETUP: TotpSetup = {
  qr_svg: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" width="100" onload="alert(1)"><script>alert(1)</script><rect width="5" height="5" style="fill:red"/></svg>',
  secret_groups: ["JBSW", "Y3DP", "EHPK", "3PXP"],
  issuer: "Corp",
  account: "zhang.wei@corp.example",
};
const CODES = Array.from({ length: 10 }, (_, i) => `code-${i}`);
const SIGNED_IN = { step: "signed_in", account: { ...ACCOUNT, mfa_enabled: true }, offline: false, remembered: true, keychain_available: true };

describe("offer", () => {
  it("begins the setup or skips it", async () => {
    const calls = ipc({ totp_begin: SETUP, totp_skip: SIGNED_IN, account_details: fail("no_network") });
    const { root } = showView({ screen: "offer_totp" });
    expect(document.activeElement).toBe(byTestId(root, "totp-offer-setup"));
    byTestId(root, "totp-offer-setup").click();
    await flush();
    expect(screenName(root)).toBe("totp_setup");

    const other = showView({ screen: "offer_totp" }).root;
    byTestId(other, "totp-offer-skip").click();
    await flush();
    expect(calls.map((c) => c.cmd)).toEqual(["totp_begin", "totp_skip", "account_details", "launcher_apps", "signed_in_apps"]);
    // Right after the sign-in the app still holds the password: none is sent.
    expect(calls[0]?.args).toEqual({ password: null });
    expect(screenName(other)).toBe("account");
  });
});

describe("setup", () => {
  it("shows the QR code as a cleaned <svg>, the key in groups, and copies the key", async () => {
    ipc({});
    const writeText = vi.fn(() => Promise.resolve());
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    const { root } = showView({ screen: "totp_setup", setup: SETUP, mode: "first_time" });
    const svg = byTestId(root, "totp-qr").querySelector("svg");
    expect(svg).not.toBeNull();
    expect(svg?.querySelector("script")).toBeNull();
    expect(svg?.getAttribute("onload")).toBeNull();
    expect(svg?.querySelector("rect")?.getAttribute("style")).toBeNull();
    expect(byTestId(root, "totp-qr").getAttribute("aria-label")).toContain("Corp");
    const secret = byTestId(root, "totp-secret");
    expect(secret.textContent).toBe("JBSW Y3DP EHPK 3PXP");
    expect(secret.dataset.secret).toBe("JBSWY3DPEHPK3PXP");
    byTestId(root, "totp-copy-key").click();
    await flush();
    expect(writeText).toHaveBeenCalledWith("JBSWY3DPEHPK3PXP");
    expect(root.textContent).toContain("Copied to the clipboard.");
  });

  it("confirms with a code and shows the recovery codes; a wrong code shows the error", async () => {
    let ok = false;
    const calls = ipc({ totp_confirm: () => (ok ? CODES : fail("code_invalid")()) });
    const { root } = showView({ screen: "totp_setup", setup: SETUP, mode: "account" });
    const code = byAutocomplete(root, "one-time-code");
    expect(document.activeElement).toBe(code);
    type(code, "000000");
    submit(code);
    await flush();
    expect(byTestId(root, "error").textContent).toContain("That code is not correct.");
    ok = true;
    type(code, "123456");
    submit(code);
    await flush();
    expect(calls.at(-1)).toEqual({ cmd: "totp_confirm", args: { code: "123456" } });
    expect(screenName(root)).toBe("recovery_codes");
    expect(byTestId(root, "recovery-codes").querySelectorAll("li")).toHaveLength(10);
  });

  it("falls back to the key when the QR code is not an SVG", () => {
    ipc({});
    const { root } = showView({ screen: "totp_setup", setup: { ...SETUP, qr_svg: "<html>nope" }, mode: "first_time" });
    expect(byTestId(root, "totp-qr").textContent).toContain("Enter the key by hand");
  });
});

describe("recovery codes", () => {
  it("copies, saves a .txt through the app's save dialog, prints, then calls totp_done", async () => {
    const calls = ipc({
      totp_done: SIGNED_IN,
      account_details: fail("no_network"),
      recovery_codes_save: { result: "saved", file_name: "my-codes.txt" },
    });
    const writeText = vi.fn(() => Promise.resolve());
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    const print = vi.fn();
    vi.stubGlobal("print", print);
    window.print = print;

    const { root } = showView({ screen: "recovery_codes", codes: CODES, mode: "first_time" });
    byTestId(root, "codes-copy").click();
    await flush();
    expect(writeText).toHaveBeenCalledWith(CODES.join("\n"));

    byTestId(root, "codes-save").click();
    await flush();
    const saved = calls.find((c) => c.cmd === "recovery_codes_save");
    expect(saved?.args.contents).toContain("code-0\r\ncode-1");
    expect(byTestId(root, "codes-status").textContent).toBe("Saved as my-codes.txt.");

    byTestId(root, "codes-print").click();
    expect(print).toHaveBeenCalled();

    byTestId(root, "codes-done").click();
    await flush();
    expect(calls.map((c) => c.cmd)).toContain("totp_done");
    expect(screenName(root)).toBe("account");
    vi.unstubAllGlobals();
  });

  // Issue 13: the web view ignores <a download>; "saved" only when the app wrote the file.
  it("says 'not saved' when the save dialog is closed, and shows a failed write", async () => {
    let failing = false;
    ipc({ recovery_codes_save: () => (failing ? fail("storage_error")() : { result: "cancelled" }) });
    const { root } = showView({ screen: "recovery_codes", codes: CODES, mode: "first_time" }, "zh-CN");
    byTestId(root, "codes-save").click();
    await flush();
    expect(byTestId(root, "codes-status").textContent).toBe("未保存：没有选择文件。");
    failing = true;
    byTestId(root, "codes-save").click();
    await flush();
    expect(byTestId(root, "codes-status").textContent).toBe("");
    expect(byTestId(root, "error").textContent).not.toBe("");
  });

  it("after regenerating, goes back to the account without totp_done", async () => {
    const calls = ipc({ account_details: fail("no_network") });
    const { app, root } = showView({ screen: "recovery_codes", codes: CODES, mode: "regenerate" });
    app.signedIn = { account: ACCOUNT, offline: false, remembered: true, keychainAvailable: true };
    byTestId(root, "codes-done").click();
    await flush();
    expect(calls.map((c) => c.cmd)).not.toContain("totp_done");
    expect(byTestId(root, "notice").textContent).toContain("new recovery codes");
  });
});
