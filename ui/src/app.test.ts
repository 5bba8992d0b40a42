// The start screen against a mocked Tauri IPC: what it shows, in both languages, and
// what it does when the command fails.
import { afterEach, describe, expect, it, vi } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { mount } from "./app";
import { catalogs, detectLocale } from "./i18n";

afterEach(() => {
  clearMocks();
  vi.restoreAllMocks();
});

function mockVersion(version: string): string[] {
  const calls: string[] = [];
  mockIPC((cmd) => {
    calls.push(cmd);
    if (cmd === "app_version") return version;
    throw new Error(`unexpected command ${cmd}`);
  });
  return calls;
}

describe("start screen", () => {
  it("shows the product name and the version from app_version", async () => {
    const calls = mockVersion("1.2.3");
    const root = document.createElement("main");

    await mount(root, "en");

    expect(calls).toEqual(["app_version"]);
    expect(root.querySelector("h1")?.textContent).toBe("Latchkey");
    expect(root.querySelector(".version")?.textContent).toBe("Version 1.2.3");
    expect(document.documentElement.lang).toBe("en");
    expect(document.title).toBe("Latchkey");
  });

  it("speaks Chinese in zh-CN", async () => {
    mockVersion("1.2.3");
    const root = document.createElement("main");

    await mount(root, "zh-CN");

    expect(root.querySelector(".version")?.textContent).toBe("版本 1.2.3");
    expect(document.documentElement.lang).toBe("zh-CN");
  });

  it("says the version is unknown when the command fails", async () => {
    mockIPC(() => {
      throw new Error("ipc down");
    });
    vi.spyOn(console, "error").mockImplementation(() => {});
    const root = document.createElement("main");

    await mount(root, "en");

    expect(root.querySelector(".version")?.textContent).toBe("Version unknown");
  });
});

describe("i18n", () => {
  it("has the same keys in every catalog", () => {
    const reference = Object.keys(catalogs.en).sort();
    for (const catalog of Object.values(catalogs)) {
      expect(Object.keys(catalog).sort()).toEqual(reference);
    }
  });

  it("follows the OS locale, falling back to English", () => {
    expect(detectLocale(["zh-CN", "en-US"])).toBe("zh-CN");
    expect(detectLocale(["zh-Hans-CN"])).toBe("zh-CN");
    expect(detectLocale(["en-GB", "zh-CN"])).toBe("en");
    expect(detectLocale(["fr-FR", "zh-TW"])).toBe("zh-CN");
    expect(detectLocale(["fr-FR"])).toBe("en");
    expect(detectLocale([])).toBe("en");
  });
});
