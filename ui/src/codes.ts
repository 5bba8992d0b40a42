// The codes the UI shows in its error region. The Rust side's codes (`Code`, generated
// from Rust into bindings/) come first; the UI adds a few of its own for failures that
// are not an `AppError` (an IPC failure, a bug) and for what it checks before calling
// anything (required fields, the two new passwords differ). Every one has a message in
// both catalogs (`errors.<code>`), which `i18n.test.ts` checks.
import type { AppError } from "./bindings/AppError";
import type { Code } from "./bindings/Code";

/** The UI's own error codes — never sent by Rust, so not in bindings/. */
export const UI_ONLY_CODES = [
  "internal",
  "password_mismatch",
  "identifier_required",
  "password_required",
  "code_required",
  "code_incomplete",
  "url_required",
] as const;

export type UiOnlyCode = (typeof UI_ONLY_CODES)[number];
export type UiCode = Code | UiOnlyCode;

/** An error as the UI shows it: an `AppError` from Rust, or one of the UI's own codes. */
export type UiError = Omit<AppError, "code"> & { code: UiCode };

/**
 * Why the Rust side ended a session on its own (`session-ended` event). Mirrors
 * `latchkey_client::EndReason` (snake_case), which has no generated binding;
 * `i18n.test.ts` compares the two.
 */
export const END_REASONS = ["refresh_revoked", "password_changed", "account_disabled"] as const;
export type EndReason = (typeof END_REASONS)[number];
