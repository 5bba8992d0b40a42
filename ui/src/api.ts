// The only module that talks to the Rust side: one typed function per Tauri command,
// named after it, and one subscription function per event. Screens import these and
// never call `invoke` or `listen` themselves.
//
// Every command goes through `call`, typed by `Commands` (ui/src/bindings/commands.ts,
// generated from src-tauri/command_list.rs): a command name, an argument or an answer
// the Rust side does not declare does not compile. Arguments go as one object with
// camelCase keys; Tauri hands them to the Rust command as its snake_case parameters.
// Every command rejects with an `AppError`; `asAppError` turns anything else (an IPC
// failure, a bug) into a `UiError` with the UI's code `internal`.
import { invoke, type InvokeArgs } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { AccountDetails } from "./bindings/AccountDetails";
import type { Channel } from "./bindings/Channel";
import type { CodesSaved } from "./bindings/CodesSaved";
import type { AppError } from "./bindings/AppError";
import type { ApprovalEvent } from "./bindings/ApprovalEvent";
import type { Commands } from "./bindings/commands";
import type { LauncherApp } from "./bindings/LauncherApp";
import type { MfaMethod } from "./bindings/MfaMethod";
import type { ResetCheck } from "./bindings/ResetCheck";
import type { ResetStarted } from "./bindings/ResetStarted";
import type { ResetLinkEvent } from "./bindings/ResetLinkEvent";
import type { ServerInfo } from "./bindings/ServerInfo";
import type { SignedInAppView } from "./bindings/SignedInAppView";
import type { Start } from "./bindings/Start";
import type { Step } from "./bindings/Step";
import type { Strength } from "./bindings/Strength";
import type { TotpSetup } from "./bindings/TotpSetup";
import type { TrayLabels } from "./bindings/TrayLabels";
import type { UpdateOffer } from "./bindings/UpdateOffer";
import type { EndReason, UiError } from "./codes";

type Command = keyof Commands;
type Args<C extends Command> = Commands[C]["args"];

/** Invokes `cmd` with its arguments (none when the contract says `null`). */
function call<C extends Command>(
  cmd: C,
  ...args: Args<C> extends null ? [] : [Args<C>]
): Promise<Commands[C]["answer"]> {
  return invoke<Commands[C]["answer"]>(cmd, args[0] as InvokeArgs | undefined);
}

// ---- start and server ----------------------------------------------------------------

/** The version of the desktop app (the Cargo package version). */
export function appVersion(): Promise<string> {
  return call("app_version");
}

declare global {
  interface Window {
    /** The first `app_start` answer, put in the page by the Rust side at launch. */
    __LATCHKEY_START__?: Start;
  }
}

/**
 * At launch: the configured server (if any) and the first step (may already be signed
 * in). The first answer comes with the page (the app starts the client while the window
 * opens), so the first screen waits for no round trip; it is taken once, and later
 * calls (starting over after maintenance or an update) ask the Rust side.
 */
export function appStart(): Promise<Start> {
  const injected = window.__LATCHKEY_START__;
  if (injected !== undefined) {
    delete window.__LATCHKEY_START__;
    return Promise.resolve(injected);
  }
  return call("app_start");
}

/**
 * The first screen is on display (logged by the app; timed by the start-up benchmark),
 * with the start-up's phases as `[name, epoch milliseconds]`.
 */
export function uiReady(screen: string, marks: Array<[string, number]>): Promise<null> {
  return call("ui_ready", { screen, marks });
}

/** Opens a link the server published (download, support) in the system browser. */
export function openLink(url: string): Promise<null> {
  return call("open_link", { url });
}

/** Tests a server address without saving it. */
export function serverTest(url: string): Promise<ServerInfo> {
  return call("server_test", { url });
}

/** Saves a server address and starts over with it. */
export function serverSave(url: string): Promise<Start> {
  return call("server_save", { url });
}

// ---- sign-in flow --------------------------------------------------------------------

export function signIn(identifier: string, password: string, remember: boolean): Promise<Step> {
  return call("sign_in", { identifier, password, remember });
}

export function secondFactor(method: MfaMethod, code: string): Promise<Step> {
  return call("second_factor", { method, code });
}

export function deviceCode(code: string): Promise<Step> {
  return call("device_code", { code });
}

/** `totpCode` when the account has two-step verification (the server answers `mfa_required` otherwise). */
export function forcedChange(
  newPassword: string,
  totpCode: string | null,
  recoveryCode: string | null = null,
): Promise<Step> {
  return call("forced_change", { newPassword, totpCode, recoveryCode });
}

// ---- TOTP ----------------------------------------------------------------------------

/**
 * TOTP setup: the QR code and key. `password`: the account's password, asked again on
 * the account screen; null on the offer right after a sign-in (the app still holds it).
 */
export function totpBegin(password: string | null): Promise<TotpSetup> {
  return call("totp_begin", { password });
}

/** Confirms the setup with a first code; resolves to the 10 recovery codes (shown once). */
export function totpConfirm(code: string): Promise<string[]> {
  return call("totp_confirm", { code });
}

export function totpSkip(): Promise<Step> {
  return call("totp_skip");
}

/** After the recovery codes were shown: the next step. */
export function totpDone(): Promise<Step> {
  return call("totp_done");
}

// ---- passwords and password reset ----------------------------------------------------

/** The policy verdict for `password` (the Rust side knows the user context). */
export function passwordStrength(password: string): Promise<Strength> {
  return call("password_strength", { password });
}

export function resetStart(
  identifier: string,
  channel: Channel | null,
  locale: string,
): Promise<ResetStarted> {
  return call("reset_start", { identifier, channel, locale });
}

export function resetResend(): Promise<ResetStarted> {
  return call("reset_resend");
}

export function resetVerify(code: string): Promise<ResetCheck> {
  return call("reset_verify", { code });
}

export function resetComplete(
  newPassword: string,
  totpCode: string | null,
  recoveryCode: string | null,
): Promise<null> {
  return call("reset_complete", { newPassword, totpCode, recoveryCode });
}

// ---- account -------------------------------------------------------------------------

export function accountDetails(): Promise<AccountDetails> {
  return call("account_details");
}

export function changePassword(currentPassword: string, newPassword: string): Promise<null> {
  return call("change_password", { currentPassword, newPassword });
}

export function totpDisable(password: string, code: string): Promise<null> {
  return call("totp_disable", { password, code });
}

/** Opens the reset link that waited (`open`), or forgets it and keeps the sign-in. */
export function resetLinkAnswer(open: boolean): Promise<null> {
  return call("reset_link_answer", { open });
}

export function recoveryCodesRegenerate(password: string): Promise<string[]> {
  return call("recovery_codes_regenerate", { password });
}

/**
 * Saves the recovery codes file (`contents`: its text) where the person chooses in the
 * OS save dialog (`title`: the dialog's title); resolves `cancelled` when they close it
 * without choosing.
 */
export function recoveryCodesSave(contents: string, title: string): Promise<CodesSaved> {
  return call("recovery_codes_save", { contents, title });
}

export function sessionRevoke(id: string): Promise<null> {
  return call("session_revoke", { id });
}

export function signOut(): Promise<Step> {
  return call("sign_out");
}

export function signOutEverywhere(): Promise<Step> {
  return call("sign_out_everywhere");
}

export function forgetDevice(): Promise<Step> {
  return call("forget_device");
}

// ---- approvals, launcher, tray ------------------------------------------------------

/**
 * The `latchkey://approve` link that launched the app, if any (taken once): what it
 * leads to, as `onDeepLinkApprove` would have said. Called once the UI listens.
 */
export function approvalPending(): Promise<ApprovalEvent | null> {
  return call("approval_pending");
}

/** Answers the browser sign-in on screen: allow with the number picked, or deny. */
export function approvalDecide(allow: boolean, number: number | null): Promise<null> {
  return call("approval_decide", { allow, number });
}

/** The person closed the request without answering. */
export function approvalDismiss(): Promise<null> {
  return call("approval_dismiss");
}

/** The company's applications (the launcher's tiles; the tray menu lists them too). */
export function launcherApps(): Promise<LauncherApp[]> {
  return call("launcher_apps");
}

/** Opens an application of the launcher in the default browser, signed in. */
export function launchApp(clientId: string): Promise<null> {
  return call("launch_app", { clientId });
}

/** The applications signed in through Latchkey. */
export function signedInApps(): Promise<SignedInAppView[]> {
  return call("signed_in_apps");
}

/** Signs out of one application signed in through Latchkey. */
export function signedInAppSignOut(clientId: string): Promise<null> {
  return call("signed_in_app_sign_out", { clientId });
}

/** The tray menu's words, in the UI's language. */
export function trayLabels(labels: TrayLabels): Promise<null> {
  return call("tray_labels", { labels });
}

// ---- updates -------------------------------------------------------------------------

/** The newer release the app's last check found (it checks at start and every few hours). */
export function updateOffer(): Promise<UpdateOffer | null> {
  return call("update_offer");
}

/** Asks the server now for a newer release (the "update required" screen). */
export function updateCheck(): Promise<UpdateOffer | null> {
  return call("update_check");
}

/**
 * Downloads the release, checks its signature against the key built into the app,
 * installs it and restarts the app; rejects (`update_signature_invalid`,
 * `update_failed`, `update_unavailable`) with nothing installed.
 */
export function updateInstall(): Promise<null> {
  return call("update_install");
}

// ---- events --------------------------------------------------------------------------

/** The background check found a newer release. */
export function onUpdateAvailable(handler: (offer: UpdateOffer) => void): Promise<UnlistenFn> {
  return listen<UpdateOffer>("update-available", (event) => handler(event.payload));
}

/** The update's download: bytes so far, and the total when the server said it. */
export function onUpdateProgress(handler: (downloaded: number, total: number | null) => void): Promise<UnlistenFn> {
  return listen<{ downloaded: number; total: number | null }>("update-progress", (event) =>
    handler(event.payload.downloaded, event.payload.total),
  );
}


/**
 * `latchkey://reset?token=…` was opened while the app runs (the token stays in Rust),
 * with the account it resets as the server names it. `opened`: Rust already moved to
 * the new-password step. `ask`: a sign-in was under way; the UI asks, then answers
 * with `resetLinkAnswer`. `refused`: expired, used, or the server out of reach.
 */
export function onDeepLinkReset(handler: (event: ResetLinkEvent) => void): Promise<UnlistenFn> {
  return listen<ResetLinkEvent>("deep-link-reset", (event) => handler(event.payload));
}

/** A `latchkey://approve` link was opened while the app runs (the window is brought up). */
export function onDeepLinkApprove(handler: (event: ApprovalEvent) => void): Promise<UnlistenFn> {
  return listen<ApprovalEvent>("deep-link-approve", (event) => handler(event.payload));
}

/** The tray's Lock signed the person out. */
export function onLocked(handler: () => void): Promise<UnlistenFn> {
  return listen<null>("locked", () => handler());
}

/** An offline session was ended on re-validation (`EndReason`). */
export function onSessionEnded(handler: (reason: EndReason) => void): Promise<UnlistenFn> {
  return listen<{ reason: EndReason }>("session-ended", (event) => handler(event.payload.reason));
}

/**
 * Whether the server answers: false as soon as a request finds it out of reach (the app
 * then looks again every few seconds, and repeats false each time), true once one
 * gets an answer. Says nothing of an offline session, which `connectivity` ends.
 */
export function onLink(handler: (up: boolean) => void): Promise<UnlistenFn> {
  return listen<{ up: boolean }>("link", (event) => handler(event.payload.up));
}

/** An offline session is an online one again (true), or the connection was lost (false). */
export function onConnectivity(handler: (online: boolean) => void): Promise<UnlistenFn> {
  return listen<{ online: boolean }>("connectivity", (event) => handler(event.payload.online));
}

// ---- errors --------------------------------------------------------------------------

/** `value` if it is an `AppError`, otherwise an `internal` error (logged for the developer). */
export function asAppError(value: unknown): UiError {
  if (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { code?: unknown }).code === "string" &&
    typeof (value as { next_step?: unknown }).next_step === "string"
  ) {
    const raw = value as Partial<AppError> & Pick<AppError, "code" | "next_step">;
    return {
      code: raw.code,
      next_step: raw.next_step,
      retry_after: raw.retry_after ?? null,
      message: raw.message ?? null,
      until: raw.until ?? null,
      min_version: raw.min_version ?? null,
      download_url: raw.download_url ?? null,
      reasons: Array.isArray(raw.reasons) ? raw.reasons : [],
      suggestions: Array.isArray(raw.suggestions) ? raw.suggestions : [],
      attempts_left: raw.attempts_left ?? null,
    };
  }
  console.error("unexpected failure from the Rust side", value);
  return {
    code: "internal",
    next_step: "retry_later",
    retry_after: null,
    message: null,
    until: null,
    min_version: null,
    download_url: null,
    reasons: [],
    suggestions: [],
    attempts_left: null,
  };
}
