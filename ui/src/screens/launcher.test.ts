// The signed-in home's applications: the launcher's tiles (icon and name, a labelled
// button each, a click opens the application signed in) and the applications signed in
// through Latchkey with "sign out" each; offline, neither is asked for.
import { afterEach, describe, expect, it } from "vitest";
import type { LauncherApp } from "../bindings/LauncherApp";
import type { SignedInAppView } from "../bindings/SignedInAppView";
import { ACCOUNT, DETAILS, byTestId, fail, flush, ipc, reset, showView } from "../test/harness";

afterEach(reset);

const ICON = "data:image/png;base64,iVBORw0KGgo=";
const APPS: LauncherApp[] = [
  { client_id: "crm", name: "CRM", launch_url: "https://crm.corp.example/", icon: ICON },
  { client_id: "oa.mail", name: "邮件", launch_url: "https://mail.corp.example/", icon: null },
  { client_id: "evil", name: "Evil", launch_url: "https://evil.example/", icon: "javascript:alert(1)" },
];
const SIGNED_IN_APPS: SignedInAppView[] = [
  { client_id: "crm", name: "CRM", first_at: 1_900_000_000, last_at: 1_900_003_600, scopes: ["openid", "profile"] },
];

function home(locale: "en" | "zh-CN" = "en", offline = false): HTMLElement {
  const shown = showView({ screen: "loading" }, locale);
  shown.app.signedIn = { account: ACCOUNT, offline, remembered: true, keychainAvailable: true };
  shown.app.go({ screen: "account", notice: null });
  return shown.root;
}

describe("launcher", () => {
  it("shows a labelled tile per application: IT's icon (data: images only), else a letter", async () => {
    ipc({ account_details: DETAILS, launcher_apps: APPS, signed_in_apps: [] });
    const root = home();
    await flush();
    const tiles = [...byTestId(root, "launcher").querySelectorAll<HTMLButtonElement>("button.tile")];
    expect(tiles.map((t) => t.textContent)).toEqual(["CRM", "邮邮件", "EEvil"]);
    expect(tiles.map((t) => t.getAttribute("aria-label"))).toEqual([
      "Open CRM in your browser, signed in",
      "Open 邮件 in your browser, signed in",
      "Open Evil in your browser, signed in",
    ]);
    expect(tiles[0]?.querySelector("img")?.getAttribute("src")).toBe(ICON);
    expect(tiles[0]?.querySelector("img")?.getAttribute("alt")).toBe("");
    expect(tiles[2]?.querySelector("img")).toBeNull();
  });

  it("a click opens the application, signed in, and says so", async () => {
    const calls = ipc({ account_details: DETAILS, launcher_apps: APPS, signed_in_apps: [], launch_app: null });
    const root = home("zh-CN");
    await flush();
    byTestId(root, "launch-crm").click();
    await flush();
    expect(calls.find((c) => c.cmd === "launch_app")?.args).toEqual({ clientId: "crm" });
    expect(byTestId(root, "account-status").textContent).toBe("CRM 正在浏览器中打开。");
  });

  it("a failed launch shows its error", async () => {
    ipc({ account_details: DETAILS, launcher_apps: APPS, signed_in_apps: [], launch_app: fail("server_rejected") });
    const root = home();
    await flush();
    byTestId(root, "launch-crm").click();
    await flush();
    expect(byTestId(root, "error").hidden).toBe(false);
  });

  it("no applications: no launcher; a failure to list them: said so", async () => {
    ipc({ account_details: DETAILS, launcher_apps: [], signed_in_apps: fail("timeout") });
    const root = home();
    await flush();
    expect(root.querySelector<HTMLElement>(".panel-launcher")?.hidden).toBe(true);
    expect(root.querySelector(".panel-apps")?.textContent).toContain("Could not be loaded.");
    reset();
    ipc({ account_details: DETAILS, launcher_apps: fail("timeout"), signed_in_apps: [] });
    const other = home();
    await flush();
    expect(other.querySelector<HTMLElement>(".panel-launcher")?.hidden).toBe(false);
    expect(other.querySelector(".panel-launcher")?.textContent).toContain("Could not be loaded.");
  });

  it("offline: neither list is asked for", () => {
    const calls = ipc({});
    const root = home("en", true);
    expect(calls).toEqual([]);
    expect(root.querySelector(".panel-launcher")?.textContent).toContain("Available when the server can be reached again.");
  });
});

describe("applications signed in through Latchkey", () => {
  it("lists them with a labelled sign out each; signing out reloads the list", async () => {
    let signedOut = false;
    const calls = ipc({
      account_details: DETAILS,
      launcher_apps: APPS,
      signed_in_apps: () => (signedOut ? [] : SIGNED_IN_APPS),
      signed_in_app_sign_out: () => {
        signedOut = true;
        return null;
      },
    });
    const root = home();
    await flush();
    const row = byTestId(root, "signed-in-apps");
    expect(row.textContent).toContain("CRM");
    expect(row.textContent).toContain("Last sign-in");
    const button = byTestId<HTMLButtonElement>(root, "app-sign-out-crm");
    expect(button.getAttribute("aria-label")).toBe("Sign out of CRM");
    button.click();
    await flush();
    expect(calls.find((c) => c.cmd === "signed_in_app_sign_out")?.args).toEqual({ clientId: "crm" });
    expect(byTestId(root, "account-status").textContent).toBe("You were signed out of CRM.");
    expect(root.querySelector(".panel-apps")?.textContent).toContain("No application is signed in through Latchkey.");
  });
});
