// The steps after the password: second factor, new-device code, forced password change.
import { afterEach, describe, expect, it, vi } from "vitest";
import { ACCOUNT, byAutocomplete, byTestId, fail, flush, ipc, reset, screenName, showView, submit, type } from "../test/harness";

afterEach(reset);

const SIGNED_IN = { step: "signed_in", account: ACCOUNT, offline: false, remembered: true, keychain_available: true };

describe("second factor", () => {
  it("sends the TOTP code without spaces", async () => {
    const calls = ipc({ second_factor: { step: "offer_totp" } });
    const { root } = showView({ screen: "second_factor", methods: ["totp", "recovery_code"], method: "totp" });
    const code = byAutocomplete(root, "one-time-code");
    expect(code.inputMode).toBe("numeric");
    expect(document.activeElement).toBe(code);
    type(code, "123 456");
    submit(code);
    await flush();
    expect(calls[0]).toEqual({ cmd: "second_factor", args: { method: "totp", code: "123456" } });
    expect(screenName(root)).toBe("offer_totp");
  });

  it("sends full-width digits from a Chinese IME as ASCII digits (issue 13)", async () => {
    const calls = ipc({ second_factor: { step: "offer_totp" } });
    const { root } = showView({ screen: "second_factor", methods: ["totp"], method: "totp" }, "zh-CN");
    const code = byAutocomplete(root, "one-time-code");
    type(code, "１２３　４５６");
    submit(code);
    await flush();
    expect(calls[0]).toEqual({ cmd: "second_factor", args: { method: "totp", code: "123456" } });
  });

  it("switches to a recovery code", async () => {
    const calls = ipc({ second_factor: SIGNED_IN, account_details: fail("no_network") });
    const { root } = showView({ screen: "second_factor", methods: ["totp", "recovery_code"], method: "totp" });
    byTestId(root, "switch-method").click();
    const code = byTestId<HTMLInputElement>(root, "second-factor-code");
    expect(code.name).toBe("recovery_code");
    expect(document.activeElement).toBe(code);
    type(code, "4f7k-2m9q");
    submit(code);
    await flush();
    expect(calls[0]?.args).toEqual({ method: "recovery_code", code: "4f7k-2m9q" });
    expect(screenName(root)).toBe("account");
  });

  it("has no switch when only TOTP is offered, and shows too_many_attempts with its advice", async () => {
    ipc({ second_factor: fail("too_many_attempts") });
    const { root } = showView({ screen: "second_factor", methods: ["totp"], method: "totp" });
    expect(root.querySelector("[data-testid=switch-method]")).toBeNull();
    type(byAutocomplete(root, "one-time-code"), "111111");
    submit(byTestId(root, "second-factor-submit"));
    await flush();
    const error = byTestId(root, "error");
    expect(error.textContent).toContain("Too many wrong codes.");
    expect(error.textContent).toContain("Go back and start again.");
    expect(byAutocomplete(root, "one-time-code").value).toBe("");
  });
});

describe("new device code", () => {
  it("shows the masked destination and a live expiry, and sends the code", async () => {
    vi.useFakeTimers();
    const calls = ipc({ device_code: SIGNED_IN, account_details: fail("no_network") });
    const { root } = showView({ screen: "device_code", destination: "z***@corp.cn", channel: "email", expiresAt: Date.now() + 65_000 });
    expect(root.textContent).toContain("Sent by e-mail to z***@corp.cn");
    expect(byTestId(root, "device-expiry").textContent).toBe("The code is valid for 01:05.");
    await vi.advanceTimersByTimeAsync(5_000);
    expect(byTestId(root, "device-expiry").textContent).toBe("The code is valid for 01:00.");
    type(byAutocomplete(root, "one-time-code"), "482913");
    submit(byTestId(root, "device-code-submit"));
    await flush();
    expect(calls[0]).toEqual({ cmd: "device_code", args: { code: "482913" } });
    expect(screenName(root)).toBe("account");
  });

  it("sends a full-width device code as ASCII digits (issue 13)", async () => {
    const calls = ipc({ device_code: SIGNED_IN, account_details: fail("no_network") });
    const { root } = showView({ screen: "device_code", destination: "z***@corp.cn", channel: "email", expiresAt: Date.now() + 600_000 }, "zh-CN");
    type(byAutocomplete(root, "one-time-code"), "４８２９１３");
    submit(byTestId(root, "device-code-submit"));
    await flush();
    expect(calls[0]).toEqual({ cmd: "device_code", args: { code: "482913" } });
  });

  it("goes on to the forced change when the password must change after the code", async () => {
    ipc({ device_code: { step: "forced_change", reason: "expired", methods: [] } });
    const { root } = showView({ screen: "device_code", destination: "z***@corp.cn", channel: "email", expiresAt: Date.now() + 600_000 });
    type(byAutocomplete(root, "one-time-code"), "482913");
    submit(byTestId(root, "device-code-submit"));
    await flush();
    expect(screenName(root)).toBe("forced_change");
    expect(document.activeElement).toBe(byAutocomplete(root, "new-password"));
  });

  it("says when the code expired", async () => {
    vi.useFakeTimers();
    ipc({});
    const { root } = showView({ screen: "device_code", destination: "138****8000", channel: "sms", expiresAt: Date.now() + 1_000 }, "zh-CN");
    expect(root.textContent).toContain("已通过短信发送至 138****8000");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(byTestId(root, "device-expiry").textContent).toContain("验证码已过期");
  });
});

describe("forced password change", () => {
  it("explains the reason, checks strength and sends the new password", async () => {
    const calls = ipc({
      password_strength: { score: 4, accepted: true, too_long: false, reasons: [], suggestions: [] },
      forced_change: SIGNED_IN,
      account_details: fail("no_network"),
    });
    const { root } = showView({ screen: "forced_change", reason: "temporary", totp: false });
    expect(root.textContent).toContain("temporary password");
    const [password, confirm] = [byAutocomplete(root, "new-password", 0), byAutocomplete(root, "new-password", 1)];
    expect(document.activeElement).toBe(password);
    type(password, "plum river lantern 42");
    type(confirm, "plum river lantern 42");
    await flush();
    submit(byTestId(root, "forced-change-submit"));
    await flush();
    expect(calls.find((c) => c.cmd === "forced_change")?.args).toEqual({ newPassword: "plum river lantern 42", totpCode: null, recoveryCode: null });
    expect(screenName(root)).toBe("account");
  });

  it("asks for a TOTP code when the change answers mfa_required, then retries with it", async () => {
    let attempt = 0;
    const calls = ipc({
      password_strength: { score: 4, accepted: true, too_long: false, reasons: [], suggestions: [] },
      forced_change: () => {
        attempt += 1;
        return attempt === 1 ? fail("mfa_required")() : SIGNED_IN;
      },
      account_details: fail("no_network"),
    });
    const { root } = showView({ screen: "forced_change", reason: "expired", totp: false });
    expect(root.querySelector("[data-testid=forced-change-totp]")).toBeNull();
    type(byAutocomplete(root, "new-password", 0), "plum river lantern 42");
    type(byAutocomplete(root, "new-password", 1), "plum river lantern 42");
    await flush();
    submit(byTestId(root, "forced-change-submit"));
    await flush();
    const code = byTestId<HTMLInputElement>(root, "forced-change-totp");
    expect(code.autocomplete).toBe("one-time-code");
    expect(document.activeElement).toBe(code);
    expect(byTestId(root, "error").dataset.code).toBe("mfa_required");
    expect(byAutocomplete(root, "new-password", 0).value).toBe("plum river lantern 42");
    submit(code);
    await flush();
    expect(byTestId(root, "error").dataset.code).toBe("code_required");
    type(code, "123 456");
    submit(code);
    await flush();
    expect(calls.filter((c) => c.cmd === "forced_change").map((c) => c.args)).toEqual([
      { newPassword: "plum river lantern 42", totpCode: null, recoveryCode: null },
      { newPassword: "plum river lantern 42", totpCode: "123456", recoveryCode: null },
    ]);
    expect(screenName(root)).toBe("account");
  });

  it("lists the server's reasons when it rejects the password, and keeps a generic reason text for unknown reasons", async () => {
    ipc({
      password_strength: { score: 3, accepted: true, too_long: false, reasons: [], suggestions: [] },
      forced_change: fail("password_rejected", { reasons: ["reused_password"], suggestions: ["choose_new_password"] }),
    });
    const { root } = showView({ screen: "forced_change", reason: "something_new", totp: false });
    expect(root.textContent).toContain("You need to choose a new password to continue.");
    type(byAutocomplete(root, "new-password", 0), "plum river lantern 42");
    type(byAutocomplete(root, "new-password", 1), "plum river lantern 42");
    await flush();
    submit(byTestId(root, "forced-change-submit"));
    await flush();
    const error = byTestId(root, "error");
    expect(error.textContent).toContain("The server did not accept this password:");
    expect(error.textContent).toContain("You used this password before.");
    expect(error.textContent).toContain("Choose a password you have not used before.");
    expect(error.textContent).toContain("Choose another password.");
    expect(document.activeElement).toBe(error);
    // After the command the button reflects the fields again (not stuck disabled).
    expect(byTestId<HTMLButtonElement>(root, "forced-change-submit").disabled).toBe(false);
  });
});
