// The IPC contract the compiler cannot check: command names and argument keys. Every
// function of api.ts is called once; what it sends must be a command the Rust side
// registers, with exactly its parameters (snake_case in Rust, camelCase over IPC —
// Tauri's default). The Rust side is read from src-tauri/ at test time.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import * as api from "./api";
import { ipc, reset } from "./test/harness";

afterEach(reset);

// Vitest runs in ui/ (`npm --prefix ui test`).
const SRC_TAURI = join(process.cwd(), "..", "src-tauri");

/** Parameters Tauri injects (not sent by the UI). */
const INJECTED = /^(State|AppHandle|Window|WebviewWindow|tauri::)/;

/** `command → its IPC argument keys`, from the `#[tauri::command]` functions of src-tauri/commands/. */
function rustCommands(): Map<string, string[]> {
  const commands = new Map<string, string[]>();
  const dir = join(SRC_TAURI, "commands");
  for (const file of readdirSync(dir).filter((name) => name.endsWith(".rs"))) {
    const text = readFileSync(join(dir, file), "utf8");
    for (const match of text.matchAll(/#\[tauri::command\][^]*?pub (?:async )?fn (\w+)\s*\(([^)]*)\)/g)) {
      const params: string[] = [];
      let depth = 0;
      let current = "";
      for (const char of match[2] ?? "") {
        if (char === "<") depth += 1;
        if (char === ">") depth -= 1;
        if (char === "," && depth === 0) {
          params.push(current);
          current = "";
        } else current += char;
      }
      params.push(current);
      const keys = params
        .map((param) => param.trim())
        .filter((param) => param !== "")
        .map((param) => {
          const [name = "", type = ""] = param.split(/:(.*)/s).map((part) => part.trim());
          return { name, type };
        })
        .filter(({ type }) => !INJECTED.test(type))
        .map(({ name }) => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));
      commands.set(match[1] ?? "", keys.sort());
    }
  }
  return commands;
}

/** The commands `generate_handler!` registers in src-tauri/lib.rs. */
function registered(): string[] {
  const text = readFileSync(join(SRC_TAURI, "lib.rs"), "utf8");
  const list = /generate_handler!\[([^\]]*)\]/.exec(text)?.[1] ?? "";
  return Array.from(list.matchAll(/commands::\w+::(\w+)/g), (m) => m[1] ?? "").sort();
}

/** Calls every command function of api.ts once; answers the commands they sent. */
async function sent(): Promise<Map<string, string[]>> {
  const calls = ipc(Object.fromEntries(registered().map((cmd) => [cmd, null])));
  await Promise.all([
    api.appVersion(),
    api.appStart(),
    api.serverTest("https://x"),
    api.serverSave("https://x"),
    api.signIn("id", "pw", true),
    api.secondFactor("totp", "123456"),
    api.deviceCode("123456"),
    api.forcedPasswordChange("new", null),
    api.totpBegin(null),
    api.totpConfirm("123456"),
    api.totpSkip(),
    api.totpDone(),
    api.passwordStrength("pw"),
    api.recoveryStart("id", null, "en"),
    api.recoveryResend(),
    api.recoveryVerify("123456"),
    api.recoveryComplete("new", null, null),
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
  ]);
  return new Map(calls.map((call) => [call.cmd, Object.keys(call.args).sort()]));
}

describe("IPC contract", () => {
  it("reads the Rust commands (sanity check of the parser)", () => {
    const commands = rustCommands();
    expect(commands.get("recovery_complete")).toEqual(["newPassword", "recoveryCode", "totpCode"]);
    expect(commands.get("app_start")).toEqual([]);
    expect(registered()).toContain("forced_password_change");
  });

  it("calls every registered command, and only those", async () => {
    const ui = await sent();
    expect([...ui.keys()].sort()).toEqual(registered());
    expect(registered()).toEqual([...rustCommands().keys()].sort());
  });

  it("sends exactly each command's parameters, in camelCase", async () => {
    const ui = await sent();
    const rust = rustCommands();
    for (const [cmd, keys] of ui) expect(keys, cmd).toEqual(rust.get(cmd));
  });
});

describe("app_start", () => {
  it("takes the answer the Rust side put in the page once, then asks", async () => {
    const injected = { server: null, step: { step: "server_setup", suggested_url: null } } as const;
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
