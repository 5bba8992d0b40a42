// What a screen gets from the app: the server it talks to, navigation, the central
// handling of errors that change the screen, and a place to register clean-up (timers).
import type { ServerInfo } from "./bindings/ServerInfo";
import type { Step } from "./bindings/Step";
import type { UiError } from "./codes";
import type { ErrorRegion } from "./components/errors";
import type { SignedIn, View } from "./views";

export interface Ctx {
  /** The configured server, once known. */
  readonly server: ServerInfo | null;
  /** Whether offline sign-in is possible on this computer (false: IT's managed settings). */
  readonly offlineSignin: boolean;
  /** The signed-in account (for the account screens), null before sign-in. */
  readonly signedIn: SignedIn | null;
  /** The identifier last typed or remembered (never a secret). */
  identifier: string | null;
  /** Shows `view`, replacing the current screen. */
  go(view: View): void;
  /** Shows the screen for a step the Rust side returned. */
  step(step: Step): void;
  /** Adopts a new server (after setup) and shows its first step. */
  serverChanged(server: ServerInfo | null, step: Step): void;
  /**
   * Handles a failed command: errors that change the screen (locked, maintenance, update
   * required, session ended or expired) navigate; the rest are shown in `region`. Returns the error.
   */
  fail(error: unknown, region: ErrorRegion): UiError;
  /** A command reached the server: ends a "connection lost" banner. */
  reached(): void;
  /** Asks the Rust side where to begin again (`app_start`), e.g. after maintenance. */
  restart(): Promise<void>;
  /** Runs `fn` when the screen is left (stop timers). */
  onLeave(fn: () => void): void;
}
