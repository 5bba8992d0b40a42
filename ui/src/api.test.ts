// The IPC contract at run time: every function of api.ts is called once; what it sends
// must be a command of the generated contract (ui/src/bindings/commands.ts, from
// src-tauri/command_list.rs) with exactly its arguments, and every command of the
// contract must be called. The types of the arguments and answers are checked by the
// compiler (`call` in api.ts is typed by the same contract).
import { afterEach, describe, expect, it } from "vitest";
import * as api from "./api";
import { COMMAND_ARGS } from "./bindings/commands";
import { ipc, reset } from "./test/harness";

afterEach(reset);

const DECLARED = Object.keys(COMMAND_ARGS).sort();

/** Calls every command function of api.ts once; answers the commands they sent. */
async function sent(): Promise<Map<string, string[]>> {
  const calls = ipc(Object.fromEntries(DECLARED.map((cmd) => [cmd, null])));
  await Promise.all([
    api.appVersion(),
    api.appStart(),
    api.serverTest("https://x"),
    api.serverSave("https://x"),
    api.signIn("id", "pw", true),
    api.secondFactor("totp", "123456"),
    api.deviceCode("123456"),
    api.forcedChange("new", null),
    api.totpBegin(null),
    api.totpConfirm("123456"),
    api.totpSkip(),
    api.totpDone(),
    api.passwordStrength("pw"),
    api.resetStart("id", null, "en"),
    api.resetResend(),
    api.resetVerify("123456"),
    api.resetComplete("new", null, null),
    api.resetLinkAnswer(true),
    api.accountDetails(),
    api.changePassword("old", "new"),
    api.totpDisable("pw", "123456"),
    api.recoveryCodesRegenerate("pw"),
    api.recoveryCodesSave("codes", "Save"),
    api.sessionRevoke("s1"),
    api.signOut(),
    api.signOutEverywhere(),
    api.forgetDevice(),
    api.uiReady("sign_in", [["script", 1]]),
    api.openLink("https://downloads.corp.example/"),
    api.approvalPending(),
    api.approvalDecide(true, 42),
    api.approvalDismiss(),
    api.launcherApps(),
    api.launchApp("crm"),
    api.signedInApps(),
    api.signedInAppSignOut("crm"),
    api.trayLabels({ open: "o", lock: "l", quit: "q" }),
    api.updateOffer(),
    api.updateCheck(),
    api.updateInstall(),
  ]);
  return new Map(calls.map((call) => [call.cmd, Object.keys(call.args).sort()]));
}

describe("IPC contract", () => {
  it("reads the generated contract (sanity check)", () => {
    expect(COMMAND_ARGS.reset_complete).toEqual(["newPassword", "totpCode", "recoveryCode"]);
    expect(COMMAND_ARGS.app_start).toEqual([]);
    expect(DECLARED).toContain("forced_change");
  });

  it("calls every declared command, and only those", async () => {
    const ui = await sent();
    expect([...ui.keys()].sort()).toEqual(DECLARED);
  });

  it("sends exactly each command's arguments, in camelCase", async () => {
    const ui = await sent();
    for (const [cmd, keys] of ui) {
      expect(keys, cmd).toEqual([...(COMMAND_ARGS[cmd as keyof typeof COMMAND_ARGS] ?? [])].sort());
    }
  });
});

describe("app_start", () => {
  it("takes the answer the Rust side put in the page once, then asks", async () => {
    const injected = { server: null, step: { step: "server_setup", suggested_url: null }, language: null, offline_signin: true } as const;
    const asked = { server: null, step: { step: "server_setup", suggested_url: "https://sso.corp" } } as const;
    const calls = ipc({ app_start: asked });
    window.__LATCHKEY_START__ = injected;
    expect(await api.appStart()).toEqual(injected);
    expect(calls).toEqual([]);
    expect(window.__LATCHKEY_START__).toBeUndefined();
    expect(await api.appStart()).toEqual(asked);
    expect(calls.map((c) => c.cmd)).toEqual(["app_start"]);
  });
});
