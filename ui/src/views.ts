// What the app can show: one variant per screen, holding everything the screen needs to
// render again (the language switch re-renders the current view). Deadlines are
// `Date.now()` values so countdowns survive a re-render.
import type { AccountSummary } from "./bindings/AccountSummary";
import type { ApprovalPrompt } from "./bindings/ApprovalPrompt";
import type { MfaMethod } from "./bindings/MfaMethod";
import type { TotpSetup } from "./bindings/TotpSetup";
import type { UiError } from "./codes";
import type { MessageKey } from "./i18n";

/** A notice shown on top of a screen (success or explanation), from the catalogs. */
export interface Notice {
  key: MessageKey;
  tone: "success" | "info" | "warning";
}

export interface SignedIn {
  account: AccountSummary;
  offline: boolean;
  remembered: boolean;
  keychainAvailable: boolean;
}

export type View =
  | { screen: "loading" }
  | { screen: "startup_error"; error: UiError }
  | { screen: "server_setup"; suggestedUrl: string | null; canCancel: boolean }
  | { screen: "sign_in"; identifier: string | null; remember: boolean; notice: Notice | null }
  | { screen: "second_factor"; methods: MfaMethod[]; method: MfaMethod }
  | { screen: "device_code"; destination: string; channel: string; expiresAt: number }
  // `totp`: the server asked for a code too (`mfa_required`); the field is then shown.
  | { screen: "forced_change"; reason: string; totp: boolean }
  | { screen: "offer_totp" }
  | { screen: "totp_setup"; setup: TotpSetup; mode: "first_time" | "account" }
  | { screen: "recovery_codes"; codes: string[]; mode: "first_time" | "account" | "regenerate" }
  | { screen: "reset_start"; identifier: string }
  | { screen: "reset_code"; identifier: string; channel: string | null; resendAt: number; expiresAt: number }
  // `methods` null: not known yet (a link opened while the app ran); on `mfa_required`
  // the screen asks for a code with every method.
  // `account`: the account a link resets, masked (`z***@corp.cn`); null after a code.
  | { screen: "reset_password"; methods: MfaMethod[] | null; fromLink: boolean; account: string | null }
  // A reset link arrived in the middle of a sign-in: open it (the new password of
  // `account`, with `methods`), or go back to `previous`. With `error`, the link could
  // not be used (expired, used, no server): said so, then back to `previous`.
  | { screen: "reset_link"; previous: View; account: string | null; methods: MfaMethod[]; error: UiError | null }
  | { screen: "locked"; until: number | null }
  | { screen: "maintenance"; message: string | null; until: string | null }
  | { screen: "update_required"; minVersion: string | null; downloadUrl: string | null }
  // A browser sign-in to approve (`latchkey://approve`): `previous` is where "close"
  // and the result's "done" go back to.
  | { screen: "approval"; approval: ApprovalPrompt; expiresAt: number; previous: View }
  // What became of it, or why it could not be answered here. `app`: the application's
  // name when known; `server`: the other server a link came from; `error`: shown as is.
  | { screen: "approval_result"; result: ApprovalResult; app: string | null; server: string | null; error: UiError | null; previous: View }
  | { screen: "account"; notice: Notice | null }
  | { screen: "account_password" }
  | { screen: "totp_disable" }
  | { screen: "totp_enable"; required?: boolean }
  | { screen: "regenerate_codes" };

export type ApprovalResult =
  | "allowed"
  | "denied"
  | "expired"
  | "mismatch"
  | "two_factor"
  | "not_signed_in"
  | "offline"
  | "wrong_server"
  | "error";

export type ScreenName = View["screen"];
export type ViewOf<S extends ScreenName> = Extract<View, { screen: S }>;
