// Password reset end to end in the UI: identifier and channel → six code boxes (paste,
// auto-advance, Backspace, resend countdown) → new password with strength and 2FA.
import { afterEach, describe, expect, it, vi } from "vitest";
import { SERVER, byAutocomplete, byTestId, fail, flush, ipc, reset, screenName, showView, submit, type } from "../test/harness";

afterEach(reset);

const STRONG = { score: 4, accepted: true, too_long: false, reasons: [], suggestions: [] };

describe("password reset", () => {
  it("offers the channel choice when the server has both, and starts the reset with the locale", async () => {
    const calls = ipc({ reset_start: { resend_after: 60, expires_in: 600 } });
    const { root } = showView({ screen: "reset_start", identifier: "zwei" }, "zh-CN");
    expect(byAutocomplete(root, "username").value).toBe("zwei");
    const sms = root.querySelector<HTMLInputElement>("input[name=channel][value=sms]");
    expect(sms).not.toBeNull();
    sms?.click();
    submit(byTestId(root, "reset-start-submit"));
    await flush();
    expect(calls[0]).toEqual({ cmd: "reset_start", args: { identifier: "zwei", channel: "sms", locale: "zh-CN" } });
    expect(screenName(root)).toBe("reset_code");
    expect(root.textContent).toContain("短信");
  });

  it("sends the only channel without asking when the server offers one", async () => {
    const calls = ipc({ reset_start: { resend_after: 60, expires_in: 600 } });
    const { root } = showView({ screen: "reset_start", identifier: "" }, "en", { ...SERVER, recovery_channels: ["email"] });
    expect(root.querySelector("[data-testid=channel-choice]")).toBeNull();
    type(byAutocomplete(root, "username"), "a@b.c");
    submit(byTestId(root, "reset-start-submit"));
    await flush();
    expect(calls[0]?.args).toEqual({ identifier: "a@b.c", channel: "email", locale: "en" });
  });

  it("shows rate limiting with the wait in words", async () => {
    ipc({ reset_start: fail("rate_limited", { retry_after: 125 }) });
    const { root } = showView({ screen: "reset_start", identifier: "zwei" });
    submit(byTestId(root, "reset-start-submit"));
    await flush();
    const error = byTestId(root, "error");
    expect(error.textContent).toContain("Please wait 3 minutes");
    expect(document.activeElement).toBe(error);
  });
});

describe("code entry", () => {
  const codeView = () => ({
    screen: "reset_code" as const,
    identifier: "zwei",
    channel: "email",
    resendAt: Date.now() + 60_000,
    expiresAt: Date.now() + 600_000,
  });

  it("accepts a pasted code in any box, fills all six and verifies it", async () => {
    const calls = ipc({ reset_verify: { second_factor_required: false, methods: [] } });
    const { root } = showView(codeView());
    const boxes = root.querySelectorAll<HTMLInputElement>(".code-box");
    expect(boxes).toHaveLength(6);
    expect(boxes[0]?.autocomplete).toBe("one-time-code");
    expect(document.activeElement).toBe(boxes[0]);
    const paste = new Event("paste", { bubbles: true, cancelable: true });
    Object.defineProperty(paste, "clipboardData", { value: { getData: () => " 123-456 " } });
    boxes[3]?.dispatchEvent(paste);
    expect(Array.from(boxes, (b) => b.value).join("")).toBe("123456");
    await flush();
    expect(calls[0]).toEqual({ cmd: "reset_verify", args: { code: "123456" } });
    expect(screenName(root)).toBe("reset_password");
    expect(root.querySelector("[data-testid=reset-second-factor]")).toBeNull();
  });

  it("advances on typing and goes back on Backspace", () => {
    ipc({});
    const { root } = showView(codeView());
    const boxes = Array.from(root.querySelectorAll<HTMLInputElement>(".code-box"));
    type(boxes[0]!, "7");
    expect(document.activeElement).toBe(boxes[1]);
    type(boxes[1]!, "x");
    expect(boxes[1]?.value).toBe("");
    expect(document.activeElement).toBe(boxes[1]);
    boxes[1]?.dispatchEvent(new KeyboardEvent("keydown", { key: "Backspace", bubbles: true, cancelable: true }));
    expect(document.activeElement).toBe(boxes[0]);
    expect(boxes[0]?.value).toBe("");
  });

  it("spreads a whole code typed into the first box (autofill, fast typing)", async () => {
    const calls = ipc({ reset_verify: { second_factor_required: true, methods: ["totp", "recovery_code"] } });
    const { root } = showView(codeView());
    const first = root.querySelector<HTMLInputElement>(".code-box")!;
    type(first, "654321");
    await flush();
    expect(calls[0]?.args).toEqual({ code: "654321" });
    expect(screenName(root)).toBe("reset_password");
    expect(byTestId(root, "reset-second-factor")).toBeTruthy();
  });

  it("takes full-width digits from a Chinese IME, typed or pasted (issue 13)", async () => {
    const calls = ipc({ reset_verify: { second_factor_required: false, methods: [] } });
    const { root } = showView(codeView(), "zh-CN");
    const boxes = Array.from(root.querySelectorAll<HTMLInputElement>(".code-box"));
    type(boxes[0]!, "１");
    expect(boxes[0]?.value).toBe("1");
    expect(document.activeElement).toBe(boxes[1]);
    const paste = new Event("paste", { bubbles: true, cancelable: true });
    Object.defineProperty(paste, "clipboardData", { value: { getData: () => "２３４　５６" } });
    boxes[1]?.dispatchEvent(paste);
    await flush();
    expect(calls[0]).toEqual({ cmd: "reset_verify", args: { code: "123456" } });
  });

  it("counts down to resend live, then resends and counts again", async () => {
    vi.useFakeTimers();
    const calls = ipc({ reset_resend: { resend_after: 30, expires_in: 600 } });
    const { root } = showView({ ...codeView(), resendAt: Date.now() + 3_000 });
    const resend = byTestId<HTMLButtonElement>(root, "reset-code-resend");
    expect(resend.disabled).toBe(true);
    expect(resend.textContent).toBe("Send a new code in 00:03");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(resend.textContent).toBe("Send a new code in 00:02");
    await vi.advanceTimersByTimeAsync(2_000);
    expect(resend.disabled).toBe(false);
    expect(resend.textContent).toBe("Send a new code");
    resend.click();
    await flush();
    expect(calls.map((c) => c.cmd)).toEqual(["reset_resend"]);
    expect(resend.disabled).toBe(true);
    expect(resend.textContent).toBe("Send a new code in 00:30");
    expect(byTestId(root, "resend-status").textContent).toBe("A new code is on its way.");
  });

  it("clears the boxes and shows the error after a wrong code", async () => {
    ipc({ reset_verify: fail("code_invalid") });
    const { root } = showView(codeView(), "zh-CN");
    type(root.querySelector<HTMLInputElement>(".code-box")!, "000000");
    await flush();
    expect(byTestId(root, "error").textContent).toContain("验证码不正确");
    expect(Array.from(root.querySelectorAll<HTMLInputElement>(".code-box"), (b) => b.value).join("")).toBe("");
    expect(document.activeElement).toBe(byTestId(root, "error"));
  });
});

describe("new password after a reset", () => {
  it("enables submit only when accepted and matching, then completes and returns to sign in", async () => {
    const calls = ipc({
      password_strength: (args: Record<string, unknown>) => (String(args.password).length >= 12 ? STRONG : { score: 1, accepted: false, too_long: false, reasons: ["too_short"], suggestions: ["use_longer_password"] }),
      reset_complete: null,
    });
    const { root } = showView({ screen: "reset_password", methods: null, fromLink: false, account: null });
    const [password, confirm] = [byAutocomplete(root, "new-password", 0), byAutocomplete(root, "new-password", 1)];
    const button = byTestId<HTMLButtonElement>(root, "reset-submit");
    expect(button.disabled).toBe(true);
    type(password, "short");
    await flush();
    expect(byTestId(root, "strength-reasons").textContent).toContain("It is too short.");
    type(password, "plum river lantern 42");
    type(confirm, "plum river lantern 4");
    await flush();
    expect(button.disabled).toBe(true);
    type(confirm, "plum river lantern 43");
    await flush();
    expect(byTestId(root, "password-mismatch").textContent).toBe("The two passwords do not match.");
    expect(button.disabled).toBe(true);
    type(confirm, "plum river lantern 42");
    await flush();
    expect(byTestId(root, "password-mismatch").textContent).toBe("");
    expect(button.disabled).toBe(false);
    submit(button);
    await flush();
    expect(calls.at(-1)).toEqual({
      cmd: "reset_complete",
      args: { newPassword: "plum river lantern 42", totpCode: null, recoveryCode: null },
    });
    expect(screenName(root)).toBe("sign_in");
    expect(byTestId(root, "notice").textContent).toContain("Your password was changed");
  });

  it("asks for a TOTP code when a link reset answers mfa_required, then retries with it", async () => {
    let attempt = 0;
    const calls = ipc({
      password_strength: STRONG,
      reset_complete: () => {
        attempt += 1;
        return attempt === 1 ? fail("mfa_required")() : null;
      },
    });
    const { root } = showView({ screen: "reset_password", methods: null, fromLink: true, account: null });
    type(byAutocomplete(root, "new-password", 0), "plum river lantern 42");
    type(byAutocomplete(root, "new-password", 1), "plum river lantern 42");
    await flush();
    submit(byTestId(root, "reset-submit"));
    await flush();
    const code = byTestId<HTMLInputElement>(root, "reset-second-factor");
    expect(code.autocomplete).toBe("one-time-code");
    expect(document.activeElement).toBe(code);
    expect(byTestId(root, "error").textContent).toContain("two-step verification");
    // The passwords stay, so only the code is needed.
    expect(byAutocomplete(root, "new-password", 0).value).toBe("plum river lantern 42");
    byTestId(root, "switch-method").click();
    const recovery = byTestId<HTMLInputElement>(root, "reset-second-factor");
    type(recovery, "4f7k-2m9q");
    submit(recovery);
    await flush();
    expect(calls.filter((c) => c.cmd === "reset_complete").at(-1)?.args).toEqual({
      newPassword: "plum river lantern 42",
      totpCode: null,
      recoveryCode: "4f7k-2m9q",
    });
    expect(screenName(root)).toBe("sign_in");
  });

  it("keeps only the latest strength answer", async () => {
    const pending: Array<(value: unknown) => void> = [];
    ipc({ password_strength: () => new Promise((resolve) => pending.push(resolve)) });
    const { root } = showView({ screen: "reset_password", methods: null, fromLink: false, account: null });
    const password = byAutocomplete(root, "new-password", 0);
    type(password, "a");
    type(password, "ab");
    await flush();
    expect(pending).toHaveLength(2);
    pending[1]?.({ score: 4, accepted: true, too_long: false, reasons: [], suggestions: [] });
    await flush();
    pending[0]?.({ score: 0, accepted: false, too_long: false, reasons: ["too_short"], suggestions: [] });
    await flush();
    expect(byTestId(root, "strength-label").textContent).toBe("Strength: very strong. This password can be used.");
    expect(byTestId(root, "strength-reasons").textContent).toBe("");
  });

  it("translates unknown reason codes to a generic message, never the raw key", async () => {
    ipc({ password_strength: { score: 2, accepted: false, too_long: true, reasons: ["brand_new_rule"], suggestions: ["brand_new_hint"] } });
    const { root } = showView({ screen: "reset_password", methods: null, fromLink: false, account: null }, "zh-CN");
    type(byAutocomplete(root, "new-password", 0), "x".repeat(200));
    await flush();
    const text = byTestId(root, "strength").textContent ?? "";
    expect(text).toContain("密码太长");
    expect(text).toContain("密码不符合密码策略");
    expect(text).toContain("请尝试更长、更难预测的密码");
    expect(text).not.toContain("brand_new");
    expect(text).not.toContain("strength.");
    expect(byTestId(root, "strength").closest("[aria-live]") ?? root.querySelector(".strength-text[aria-live=polite]")).not.toBeNull();
  });
});
