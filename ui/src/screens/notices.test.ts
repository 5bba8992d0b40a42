// Screens that explain why the user cannot go on: locked (live countdown), maintenance
// (server text, time in the locale), update required, start-up failure, server setup.
import { afterEach, describe, expect, it, vi } from "vitest";
import { SERVER, byAutocomplete, byTestId, fail, flush, ipc, reset, screenName, showView, submit, type } from "../test/harness";
import { appError } from "../test/harness";

afterEach(reset);

describe("locked", () => {
  it("counts down in mm:ss and then offers to try again", async () => {
    vi.useFakeTimers();
    ipc({});
    const { app, root } = showView({ screen: "locked", until: Date.now() + 62_000 });
    app.identifier = "zwei";
    const clock = byTestId(root, "locked-countdown");
    const retry = byTestId<HTMLButtonElement>(root, "locked-retry");
    expect(clock.textContent).toBe("01:02");
    expect(retry.hidden).toBe(true);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(clock.textContent).toBe("00:59");
    await vi.advanceTimersByTimeAsync(59_000);
    expect(retry.hidden).toBe(false);
    expect(document.activeElement).toBe(retry);
    retry.click();
    expect(screenName(root)).toBe("sign_in");
    expect(byAutocomplete(root, "username").value).toBe("zwei");
  });

  it("stops its timer when the screen is left", async () => {
    vi.useFakeTimers();
    ipc({});
    const { app } = showView({ screen: "locked", until: Date.now() + 600_000 });
    expect(vi.getTimerCount()).toBe(1);
    app.go({ screen: "sign_in", identifier: null, remember: true, notice: null });
    expect(vi.getTimerCount()).toBe(0);
  });

  it("without a known end, says try later and offers the button at once", () => {
    ipc({});
    const { root } = showView({ screen: "locked", until: null }, "zh-CN");
    expect(root.textContent).toContain("请稍后重试");
    expect(byTestId(root, "locked-retry").hidden).toBe(false);
  });
});

describe("maintenance", () => {
  it("shows the server's message and the end time in the locale, and tries again with app_start", async () => {
    const calls = ipc({ app_start: { server: SERVER, step: { step: "sign_in", identifier: null, remember: true } } });
    const until = "2030-03-04T05:06:00Z";
    const { root } = showView({ screen: "maintenance", message: "系统升级", until }, "zh-CN");
    expect(byTestId(root, "maintenance-message").textContent).toBe("系统升级");
    const expected = new Intl.DateTimeFormat("zh-CN", { dateStyle: "medium", timeStyle: "short" }).format(new Date(until));
    expect(byTestId(root, "maintenance-until").textContent).toBe(`预计恢复时间：${expected}`);
    byTestId(root, "maintenance-retry").click();
    await flush();
    expect(calls.map((c) => c.cmd)).toEqual(["app_start"]);
    expect(screenName(root)).toBe("sign_in");
  });
});

describe("update required", () => {
  it("shows the minimum and installed versions and the download link", async () => {
    ipc({ app_version: "0.9.0" });
    const { root } = showView({ screen: "update_required", minVersion: "1.4.0", downloadUrl: "https://dl.example/latchkey.msi" });
    await flush();
    expect(root.textContent).toContain("Latchkey 1.4.0 or newer");
    expect(byTestId(root, "installed-version").textContent).toBe("Installed version: 0.9.0");
    const link = byTestId<HTMLAnchorElement>(root, "download-link");
    expect(link.getAttribute("href")).toBe("https://dl.example/latchkey.msi");
    expect(link.rel).toContain("noopener");
  });

  it("opens the download link through the app (system browser), not in the window", async () => {
    const calls = ipc({ app_version: "0.9.0", open_link: null });
    const { root } = showView({ screen: "update_required", minVersion: "1.4.0", downloadUrl: "https://dl.example/latchkey.msi" });
    await flush();
    const click = new MouseEvent("click", { bubbles: true, cancelable: true });
    byTestId<HTMLAnchorElement>(root, "download-link").dispatchEvent(click);
    await flush();
    expect(click.defaultPrevented).toBe(true);
    expect(calls.filter((c) => c.cmd === "open_link").map((c) => c.args)).toEqual([{ url: "https://dl.example/latchkey.msi" }]);
  });

  it("without a download URL points to IT", async () => {
    ipc({ app_version: "0.9.0" });
    const { root } = showView({ screen: "update_required", minVersion: null, downloadUrl: null });
    await flush();
    expect(root.textContent).toContain("Ask your IT department");
  });
});

describe("start-up error", () => {
  it("shows the message and advice, with try again and change server", () => {
    ipc({});
    const { root } = showView({ screen: "startup_error", error: appError("dns_failed") });
    expect(root.textContent).toContain("The server’s name could not be found.");
    expect(root.textContent).toContain("Check the server address");
    byTestId(root, "change-server").click();
    expect(screenName(root)).toBe("server_setup");
  });
});

describe("server setup", () => {
  it("tests the connection without saving, then saves and continues to sign in", async () => {
    const calls = ipc({
      server_test: SERVER,
      server_save: { server: SERVER, step: { step: "sign_in", identifier: null, remember: true } },
    });
    const { root } = showView({ screen: "server_setup", suggestedUrl: "https://login.corp.example", canCancel: false }, "en", null);
    const url = byAutocomplete(root, "url");
    expect(url.value).toBe("https://login.corp.example");
    expect(document.activeElement).toBe(url);
    byTestId(root, "server-test").click();
    await flush();
    expect(calls[0]).toEqual({ cmd: "server_test", args: { url: "https://login.corp.example" } });
    expect(byTestId(root, "server-test-result").textContent).toContain("Connected to Corp Sign-in.");
    submit(url);
    await flush();
    expect(calls[1]).toEqual({ cmd: "server_save", args: { url: "https://login.corp.example" } });
    expect(screenName(root)).toBe("sign_in");
    expect(root.textContent).toContain("Corp Sign-in");
  });

  it("explains a failed test with its next step", async () => {
    ipc({ server_test: fail("unexpected_response") });
    const { root } = showView({ screen: "server_setup", suggestedUrl: null, canCancel: false }, "zh-CN", null);
    type(byAutocomplete(root, "url"), "https://www.example.com");
    byTestId(root, "server-test").click();
    await flush();
    const error = byTestId(root, "error");
    expect(error.textContent).toContain("不是 Latchkey 登录服务器");
    expect(error.textContent).toContain("请检查服务器地址");
    expect(document.activeElement).toBe(error);
  });

  it("asks for an address before calling anything", async () => {
    const calls = ipc({});
    const { root } = showView({ screen: "server_setup", suggestedUrl: null, canCancel: false }, "en", null);
    submit(byAutocomplete(root, "url"));
    await flush();
    expect(calls).toEqual([]);
    expect(byTestId(root, "error").textContent).toContain("Enter the server address.");
  });
});
