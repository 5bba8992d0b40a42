// Approving a browser sign-in from a `latchkey://approve` link: the request on screen
// (application, browser, address, the other-network warning, three numbers), Allow by
// number, Deny, the results (allowed, denied, expired, mismatch, two-factor), and the
// links that cannot be answered here (not signed in, offline, another server). In both
// languages, by keyboard.
import { emit } from "@tauri-apps/api/event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { mount } from "../app";
import type { ApprovalPrompt } from "../bindings/ApprovalPrompt";
import { ACCOUNT, SERVER, appError, byTestId, fail, flush, ipc, reset, screenName, showView } from "../test/harness";
import type { View } from "../views";

afterEach(reset);

const PROMPT: ApprovalPrompt = {
  client_name: "CRM",
  browser: "Web browser (Chrome)",
  ip: "10.1.2.3",
  same_network: true,
  numbers: [42, 17, 85],
  expires_in: 110,
  needs_two_factor: false,
};

const SIGNED_IN = { server: SERVER, step: { step: "signed_in", account: ACCOUNT, offline: false, remembered: true, keychain_available: true } };

function approval(prompt: Partial<ApprovalPrompt> = {}, locale: "en" | "zh-CN" = "en"): { root: HTMLElement } {
  const previous: View = { screen: "sign_in", identifier: null, remember: true, notice: null };
  const shown = showView({ screen: "approval", approval: { ...PROMPT, ...prompt }, expiresAt: Date.now() + 110_000, previous }, locale);
  shown.app.signedIn = { account: ACCOUNT, offline: false, remembered: true, keychainAvailable: true };
  return shown;
}

function result(root: HTMLElement): string | undefined {
  return root.querySelector<HTMLElement>("[data-screen=approval_result]")?.dataset.result;
}

describe("approval", () => {
  it("names the application, the browser and its address; three labelled numbers; the focus is on no number", () => {
    ipc({});
    const { root } = approval();
    expect(screenName(root)).toBe("approval");
    expect(root.querySelector("h1")?.textContent).toBe("Sign in to CRM?");
    expect(byTestId(root, "approval-app").textContent).toBe("CRM");
    expect(byTestId(root, "approval-browser").textContent).toBe("Web browser (Chrome)");
    expect(byTestId(root, "approval-ip").textContent).toBe("10.1.2.3");
    expect(root.querySelector("[data-testid=approval-other-network]")).toBeNull();
    const numbers = [...root.querySelectorAll<HTMLButtonElement>(".approval-number")];
    expect(numbers.map((b) => b.textContent)).toEqual(["42", "17", "85"]);
    expect(numbers.map((b) => b.getAttribute("aria-label"))).toEqual([
      "Allow, the browser shows 42",
      "Allow, the browser shows 17",
      "Allow, the browser shows 85",
    ]);
    const group = root.querySelector("[role=group]");
    expect(document.getElementById(group?.getAttribute("aria-labelledby") ?? "")?.textContent).toBe("Pick the number shown in your browser");
    expect(document.activeElement?.tagName).toBe("H1");
    expect(byTestId(root, "approval-expires").textContent).toMatch(/^This request ends in 01:5\d\.$/);
  });

  it("warns when the browser is not on this computer's network, in both languages", () => {
    ipc({});
    const { root } = approval({ same_network: false, ip: "203.0.113.9" });
    expect(byTestId(root, "approval-other-network").textContent).toContain("203.0.113.9");
    expect(byTestId(root, "approval-other-network").textContent).toContain("deny it");
    reset();
    ipc({});
    const zh = approval({ same_network: false, ip: null }, "zh-CN").root;
    expect(zh.querySelector("h1")?.textContent).toBe("登录 CRM？");
    expect(byTestId(zh, "approval-other-network").textContent).toContain("未知");
    expect(byTestId(zh, "approval-ip").textContent).toBe("未知");
    expect(zh.querySelector("[role=group] h2, h2")?.textContent).toBe("请选择浏览器中显示的数字");
  });

  it("allows with the number picked, then says go back to the browser", async () => {
    const calls = ipc({ approval_decide: null });
    const { root } = approval();
    byTestId(root, "approval-number-17").click();
    await flush();
    expect(calls).toEqual([{ cmd: "approval_decide", args: { allow: true, number: 17 } }]);
    expect(result(root)).toBe("allowed");
    expect(byTestId(root, "approval-result-text").textContent).toBe("Go back to your browser: CRM is signing you in there.");
    byTestId(root, "approval-done").click();
    expect(screenName(root)).toBe("sign_in");
  });

  it("denies", async () => {
    const calls = ipc({ approval_decide: null });
    const { root } = approval({}, "zh-CN");
    byTestId(root, "approval-deny").click();
    await flush();
    expect(calls).toEqual([{ cmd: "approval_decide", args: { allow: false, number: null } }]);
    expect(result(root)).toBe("denied");
    expect(root.querySelector("h1")?.textContent).toBe("已拒绝登录");
  });

  it.each([
    ["approval_mismatch", "mismatch", "That is not the number the browser shows."],
    ["approval_invalid", "expired", "This sign-in request has expired or was already answered."],
    ["two_factor_required", "two_factor", "This application requires two-step verification."],
  ] as const)("%s from the server: the %s result", async (code, shown, text) => {
    ipc({ approval_decide: fail(code) });
    const { root } = approval();
    byTestId(root, "approval-number-42").click();
    await flush();
    expect(result(root)).toBe(shown);
    expect(byTestId(root, "approval-result-text").textContent).toContain(text);
  });

  it("a network failure stays on the request, to try again", async () => {
    ipc({ approval_decide: fail("connection_refused") });
    const { root } = approval();
    byTestId(root, "approval-number-42").click();
    await flush();
    expect(screenName(root)).toBe("approval");
    expect(byTestId(root, "error").hidden).toBe(false);
    expect(byTestId<HTMLButtonElement>(root, "approval-number-42").disabled).toBe(false);
  });

  it("needs two-step verification: explains, offers no number, only Deny", () => {
    ipc({});
    const { root } = approval({ needs_two_factor: true });
    expect(byTestId(root, "approval-two-factor").textContent).toContain("CRM requires two-step verification");
    expect(root.querySelectorAll(".approval-number")).toHaveLength(0);
    expect(byTestId(root, "approval-deny")).toBeTruthy();
  });

  it("expires on screen: the request is dropped and said so", async () => {
    vi.useFakeTimers();
    const calls = ipc({ approval_dismiss: null });
    const { root } = approval({ expires_in: 2 });
    await vi.advanceTimersByTimeAsync(111_000);
    expect(result(root)).toBe("expired");
    expect(calls.map((c) => c.cmd)).toEqual(["approval_dismiss"]);
  });
});

describe("approval links", () => {
  async function started(answers: Record<string, unknown>): Promise<HTMLElement> {
    ipc({ app_start: SIGNED_IN, account_details: fail("no_network"), launcher_apps: [], signed_in_apps: [], ...answers });
    document.body.replaceChildren();
    const element = document.createElement("div");
    document.body.append(element);
    await mount(element, "en");
    await flush();
    return element;
  }

  it("a link while the app runs shows the request; Done goes back to the account", async () => {
    const root = await started({ approval_pending: null, approval_decide: null });
    expect(screenName(root)).toBe("account");
    await emit("deep-link-approve", { outcome: "shown", approval: PROMPT });
    expect(screenName(root)).toBe("approval");
    byTestId(root, "approval-number-85").click();
    await flush();
    expect(result(root)).toBe("allowed");
    byTestId(root, "approval-done").click();
    expect(screenName(root)).toBe("account");
  });

  it("the link that launched the app is shown once the app listens", async () => {
    const root = await started({ approval_pending: { outcome: "shown", approval: PROMPT } });
    expect(screenName(root)).toBe("approval");
  });

  it.each([
    [{ outcome: "not_signed_in" }, "not_signed_in", "The browser can still sign in with your password"],
    [{ outcome: "offline" }, "offline", "The browser can still use your password."],
    [{ outcome: "wrong_server", server: "https://evil.example" }, "wrong_server", "This request comes from https://evil.example"],
    [{ outcome: "refused", error: appError("approval_invalid") }, "expired", "has expired or was already answered"],
  ])("%o: said so", async (event, shown, text) => {
    const root = await started({ approval_pending: null });
    await emit("deep-link-approve", event);
    expect(result(root)).toBe(shown);
    expect(byTestId(root, "approval-result-text").textContent).toContain(text);
  });

  it("a refusal for another reason shows its error", async () => {
    const root = await started({ approval_pending: null });
    await emit("deep-link-approve", { outcome: "refused", error: appError("timeout") });
    expect(result(root)).toBe("error");
    expect(byTestId(root, "error").textContent).toContain("The server did not answer in time.");
  });

  it("the tray's Lock goes back to sign in, saying why", async () => {
    const root = await started({ approval_pending: null });
    await emit("locked", null);
    expect(screenName(root)).toBe("sign_in");
    expect(byTestId(root, "notice").textContent).toBe("Latchkey was locked from the tray. Sign in to continue.");
  });
});
