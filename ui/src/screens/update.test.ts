// In-app updates: "Update now" on the update-required screen (progress, a refused
// signature shown in both languages), the package manager's note for a .deb/.rpm, and
// the quiet banner of an available update.
import { emit } from "@tauri-apps/api/event";
import { afterEach, describe, expect, it } from "vitest";
import { mount } from "../app";
import type { UpdateOffer } from "../bindings/UpdateOffer";
import { SERVER, byTestId, fail, flush, ipc, reset, screenName, showView } from "../test/harness";

afterEach(reset);

const OFFER: UpdateOffer = { version: "1.4.0", notes: "登录更快 / faster sign-in", required: true, install_by: "app" };
/** A new view each time, as the app makes one each time it shows the screen. */
const required = () => ({ screen: "update_required", minVersion: "1.4.0", downloadUrl: "https://dl.example/latchkey.msi" }) as const;

describe("update required, with a release the app can install", () => {
  it("offers Update now with the notes, and shows the download's progress", async () => {
    const calls = ipc({ app_version: "0.9.0", update_check: OFFER, update_install: () => new Promise(() => undefined) });
    const { root } = showView(required());
    await flush();
    expect(byTestId(root, "update-offered").textContent).toBe("Latchkey 1.4.0 is ready to install.");
    expect(root.textContent).toContain("faster sign-in");
    expect(root.querySelector('[data-testid="download-link"]')).toBeNull();
    const now = byTestId<HTMLButtonElement>(root, "update-now");
    now.click();
    await flush();
    expect(calls.map((c) => c.cmd)).toContain("update_install");
    expect(now.disabled).toBe(true);
    const progress = byTestId<HTMLProgressElement>(root, "update-progress");
    expect(progress.hidden).toBe(false);
    await emit("update-progress", { downloaded: 250, total: 1000 });
    await flush();
    expect(progress.value).toBe(250);
    expect(byTestId(root, "update-status").textContent).toBe("Downloading the update… 25%");
    await emit("update-progress", { downloaded: 1000, total: 1000 });
    await flush();
    expect(byTestId(root, "update-status").textContent).toBe("Checking the signature and installing…");
  });

  it("says a refused signature in English and Chinese, and lets the person try again", async () => {
    for (const [locale, text] of [
      ["en", "not signed with this app's key, so it was not installed"],
      ["zh-CN", "未使用本应用的密钥签名，因此未安装"],
    ] as const) {
      ipc({ app_version: "0.9.0", update_check: OFFER, update_install: fail("update_signature_invalid") });
      const { root } = showView(required(), locale);
      await flush();
      const now = byTestId<HTMLButtonElement>(root, "update-now");
      now.click();
      await flush();
      expect(root.querySelector('[role="alert"]')?.textContent).toContain(text);
      expect(byTestId(root, "update-progress").hidden).toBe(true);
      expect(now.disabled).toBe(false);
      reset();
    }
  });

  it("keeps the refusal on screen when the language is switched", async () => {
    ipc({ app_version: "0.9.0", update_check: OFFER, update_install: fail("update_signature_invalid"), tray_labels: null });
    const { app, root } = showView(required());
    await flush();
    byTestId<HTMLButtonElement>(root, "update-now").click();
    await flush();
    app.switchLanguage("zh-CN");
    await flush();
    expect(root.querySelector('[role="alert"]')?.textContent).toContain("未使用本应用的密钥签名");
    expect(byTestId(root, "update-now").textContent).toBe("立即更新");
  });

  it("for a .deb or .rpm says the package manager updates it, with no Update now", async () => {
    ipc({ app_version: "0.9.0", update_check: { ...OFFER, install_by: "package_manager" } });
    const { root } = showView(required(), "zh-CN");
    await flush();
    expect(byTestId(root, "update-package-manager").textContent).toContain("软件包管理器");
    expect(root.querySelector('[data-testid="update-now"]')).toBeNull();
  });

  it("keeps the download link when the server has no release for this app", async () => {
    ipc({ app_version: "0.9.0", update_check: null });
    const { root } = showView(required());
    await flush();
    expect(byTestId(root, "download-link")).toBeTruthy();
    expect(root.querySelector('[data-testid="update-now"]')).toBeNull();
  });
});

describe("update available", () => {
  it("shows a quiet banner with the version and notes, found at start or later", async () => {
    const later: UpdateOffer = { version: "1.5.0", notes: null, required: false, install_by: "app" };
    ipc({
      app_start: { server: SERVER, step: { step: "sign_in", identifier: null, remember: true } },
      ui_ready: null,
      tray_labels: null,
      approval_pending: null,
      update_offer: { ...OFFER, required: false },
    });
    const root = document.createElement("div");
    document.body.append(root);
    await mount(root, "zh-CN");
    expect(screenName(root)).toBe("sign_in");
    const banner = byTestId(root, "update-banner");
    expect(banner.textContent).toContain("Latchkey 1.4.0 新版本可用。");
    expect(banner.textContent).toContain("更新内容");
    expect(banner.getAttribute("role")).toBeNull();
    await emit("update-available", later);
    await flush();
    expect(byTestId(root, "update-banner").textContent).toContain("Latchkey 1.5.0 新版本可用。");
  });
});
