// The app shell: the top bar (product name, language switch), the connectivity banner,
// the banner of an available update, and the current screen. It turns the Rust side's `Step`s into screens, handles the
// errors that change the screen, and listens to the Rust side's events.
import {
  appStart,
  approvalPending,
  asAppError,
  onConnectivity,
  onLink,
  onDeepLinkApprove,
  onDeepLinkReset,
  onLocked,
  onSessionEnded,
  onUpdateAvailable,
  trayLabels,
  uiReady,
  updateOffer,
} from "./api";
import type { ApprovalEvent } from "./bindings/ApprovalEvent";
import type { ResetLinkEvent } from "./bindings/ResetLinkEvent";
import type { ServerInfo } from "./bindings/ServerInfo";
import type { Step } from "./bindings/Step";
import type { UpdateOffer } from "./bindings/UpdateOffer";
import type { EndReason, UiError } from "./codes";
import { reshowErrors, shownErrors, type ErrorRegion } from "./components/errors";
import { updateBanner } from "./components/update";
import type { Ctx } from "./context";
import { h, uid } from "./dom";
import { currentLocale, hasKey, locales, setLocale, t, type Locale } from "./i18n";
import { screens } from "./screens";
import { mark, startupMarks } from "./startup";
import type { ApprovalResult, SignedIn, View } from "./views";

/**
 * Screens that need a signed-in session: a `session_expired` there means the session
 * ended (elsewhere the same code means an expired or used reset link, shown in place).
 */
const ACCOUNT_SCREENS = new Set<View["screen"]>([
  "account",
  "approval",
  "account_password",
  "totp_disable",
  "totp_enable",
  "regenerate_codes",
  "totp_setup",
  "recovery_codes",
]);

/** Codes of a server that could not be reached (as opposed to one that answered no). */
const UNREACHABLE = new Set<UiError["code"]>(["no_network", "dns_failed", "connection_refused", "timeout", "network_error"]);

export class App implements Ctx {
  server: ServerInfo | null = null;
  signedIn: SignedIn | null = null;
  identifier: string | null = null;
  online = true;
  view: View = { screen: "loading" };
  /** The language IT's managed settings force: no language switch then. */
  forcedLocale: Locale | null = null;
  /** Whether offline sign-in is possible on this computer (IT's managed settings). */
  offlineSignin = true;

  private readonly content: HTMLElement;
  private readonly banner: HTMLDivElement;
  private readonly topbar: HTMLElement;
  /** The banner of an available update, and the release and language it shows. */
  private readonly updateSlot: HTMLElement;
  private update: { offer: UpdateOffer; locale: Locale | null } | null = null;
  private leaveFns: Array<() => void> = [];

  constructor(root: HTMLElement) {
    this.topbar = h("header", { class: "topbar" });
    this.banner = h("div", { class: "banner", role: "status", "data-testid": "offline-banner", hidden: true });
    this.content = h("main", { class: "content", id: "content" });
    this.updateSlot = h("div", { class: "update-slot", hidden: true });
    root.replaceChildren(this.topbar, this.banner, this.updateSlot, this.content);
  }

  /** Subscribes to the Rust side's events and shows the first screen (`app_start`). */
  async start(): Promise<void> {
    await this.restart();
    mark("rendered");
    // After the first screen's layout and paint: the report, then the events. None of
    // the events can come this early (a link opened while the app runs, the end of an
    // offline session, the server coming back), and until the first screen is up the
    // page and the app's main thread have better things to do than three round trips.
    await new Promise<void>((painted) =>
      requestAnimationFrame(() => {
        mark("frame");
        setTimeout(painted, 0);
      }),
    );
    mark("painted");
    void uiReady(this.view.screen, startupMarks()).catch(() => undefined);
    await Promise.all([
      onDeepLinkReset((event) => this.resetLink(event)),
      onDeepLinkApprove((event) => this.approval(event)),
      onSessionEnded((reason) => this.sessionEnded(reason)),
      onConnectivity((online) => this.connectivity(online)),
      onLink((up) => this.linkChanged(up)),
      onLocked(() => this.sessionEnded("locked")),
      onUpdateAvailable((offer) => this.offerUpdate(offer)),
    ]).catch((error: unknown) => console.error("cannot listen to the app's events", error));

    this.sendTrayLabels();
    // An approval link that launched the app: now that the first screen is up.
    try {
      const pending = await approvalPending();
      if (pending !== null) this.approval(pending);
    } catch (error) {
      console.error("cannot read the approval link the app was opened with", error);
    }
    // A release the start's check found before the page listened.
    try {
      const offer = await updateOffer();
      if (offer !== null) this.offerUpdate(offer);
    } catch (error) {
      console.error("cannot read the update found at start", error);
    }
  }

  /** Asks `app_start` where to begin (also after maintenance or an update). */
  async restart(): Promise<void> {
    this.go({ screen: "loading" });
    try {
      const start = await appStart();
      mark("app_start");
      this.forceLanguage(start.language);
      this.offlineSignin = start.offline_signin !== false;
      this.serverChanged(start.server, start.step);
    } catch (error) {
      const appError = asAppError(error);
      if (!this.redirect(appError)) this.go({ screen: "startup_error", error: appError });
    }
  }

  // ---- Ctx ---------------------------------------------------------------------------

  go(view: View, focus = true): void {
    for (const fn of this.leaveFns.splice(0)) fn();
    this.view = view;
    if (view.screen === "sign_in" || view.screen === "server_setup") this.signedIn = null;
    this.renderTopbar();
    this.renderBanner();
    this.renderUpdateBanner();
    const screen = screens[view.screen](this, view as never);
    this.content.replaceChildren(screen);
    this.content.classList.toggle("wide", screen.classList.contains("wide"));
    if (focus) focusFirst(screen);
  }

  step(step: Step): void {
    switch (step.step) {
      case "server_setup":
        this.go({ screen: "server_setup", suggestedUrl: step.suggested_url, canCancel: false });
        break;
      case "sign_in":
        if (step.identifier !== null) this.identifier = step.identifier;
        this.go({ screen: "sign_in", identifier: step.identifier ?? this.identifier, remember: step.remember, notice: null });
        break;
      case "second_factor":
        this.go({ screen: "second_factor", methods: step.methods, method: step.methods[0] ?? "totp" });
        break;
      case "device_code":
        this.go({
          screen: "device_code",
          destination: step.destination,
          channel: step.channel,
          expiresAt: Date.now() + step.expires_in * 1000,
        });
        break;
      case "forced_change":
        this.go({ screen: "forced_change", reason: step.reason, totp: step.methods.length > 0 });
        break;
      case "offer_totp":
        this.go({ screen: "offer_totp" });
        break;
      case "reset_password":
        // Launched by a reset link: Rust holds its token and knows the second factors.
        this.go({ screen: "reset_password", methods: step.methods, fromLink: true, account: step.account_hint });
        break;
      case "signed_in":
        this.signedIn = {
          account: step.account,
          offline: step.offline,
          remembered: step.remembered,
          keychainAvailable: step.keychain_available,
        };
        if (!step.offline) this.online = true;
        this.go({ screen: "account", notice: null });
        break;
    }
  }

  /** A reset link opened while the app runs (see `onDeepLinkReset`). */
  private resetLink(event: ResetLinkEvent): void {
    // A second link while the first one's question is up: "back" still means the
    // sign-in that was under way.
    const previous = this.view.screen === "reset_link" ? this.view.previous : this.view;
    switch (event.outcome) {
      case "opened":
        this.go({ screen: "reset_password", methods: event.methods, fromLink: true, account: event.account_hint });
        break;
      case "ask":
        this.go({ screen: "reset_link", previous, account: event.account_hint, methods: event.methods, error: null });
        break;
      case "refused":
        this.go({ screen: "reset_link", previous, account: null, methods: [], error: asAppError(event.error) });
        break;
    }
  }

  /** A `latchkey://approve` link (see `onDeepLinkApprove`). */
  private approval(event: ApprovalEvent): void {
    // A second link while one is up: "done" still goes back to what was there before.
    const current = this.view;
    const previous = current.screen === "approval" || current.screen === "approval_result" ? current.previous : current;
    const result = (result: ApprovalResult, server: string | null = null, error: UiError | null = null) =>
      this.go({ screen: "approval_result", result, app: null, server, error, previous });
    switch (event.outcome) {
      case "shown":
        this.go({ screen: "approval", approval: event.approval, expiresAt: Date.now() + event.approval.expires_in * 1000, previous });
        break;
      case "wrong_server":
        result("wrong_server", event.server);
        break;
      case "not_signed_in":
      case "offline":
        result(event.outcome);
        break;
      case "refused": {
        const error = asAppError(event.error);
        if (error.code === "approval_invalid") result("expired");
        else if (!this.redirect(error) && !this.endedBy(error)) result("error", null, error);
        break;
      }
    }
  }

  /** An error that ended the session (re-validated from an approval link): true when it did. */
  private endedBy(error: UiError): boolean {
    if (error.code === "session_expired" || error.code === "account_disabled") {
      this.sessionEnded(error.code === "session_expired" ? "expired" : "account_disabled");
      return true;
    }
    return false;
  }

  /** The tray menu's words, in the current language. */
  private sendTrayLabels(): void {
    void trayLabels({ open: t("tray.open"), lock: t("tray.lock"), quit: t("tray.quit") }).catch(() => undefined);
  }

  serverChanged(server: ServerInfo | null, step: Step): void {
    this.server = server;
    this.step(step);
  }

  fail(error: unknown, region: ErrorRegion): UiError {
    const appError = asAppError(error);
    // Signed in online and the server is out of reach: say so above every screen until
    // a command gets through again (an offline session has its own banner).
    if (UNREACHABLE.has(appError.code) && this.signedIn !== null && !this.signedIn.offline && this.online) {
      this.online = false;
      this.renderBanner();
    }
    const inAccount = this.signedIn !== null && ACCOUNT_SCREENS.has(this.view.screen);
    if (appError.code === "session_expired" && inAccount) {
      this.sessionEnded("expired");
    } else if (appError.code === "account_disabled" && inAccount) {
      this.sessionEnded("account_disabled");
    } else if (!this.redirect(appError)) {
      region.show(appError);
    }
    return appError;
  }

  reached(): void {
    if (!this.online) {
      this.online = true;
      this.renderBanner();
    }
  }

  onLeave(fn: () => void): void {
    this.leaveFns.push(fn);
  }

  // ---- the rest ----------------------------------------------------------------------

  /** Errors that are a screen of their own. True when it navigated. */
  private redirect(error: UiError): boolean {
    switch (error.code) {
      case "account_locked":
        this.go({ screen: "locked", until: error.retry_after === null ? null : Date.now() + error.retry_after * 1000 });
        return true;
      case "maintenance":
        this.go({ screen: "maintenance", message: error.message, until: error.until });
        return true;
      case "client_outdated":
        this.go({ screen: "update_required", minVersion: error.min_version, downloadUrl: error.download_url });
        return true;
      // An offline session that the server no longer accepts (re-validation).
      case "refresh_revoked":
      case "password_changed":
        this.sessionEnded(error.code);
        return true;
      // The organisation requires two-step verification and the grace period is over.
      case "two_factor_setup_required":
        if (this.signedIn === null) return false;
        this.go({ screen: "totp_enable", required: true });
        return true;
      case "not_configured":
        this.go({ screen: "server_setup", suggestedUrl: null, canCancel: false });
        return true;
      default:
        return false;
    }
  }

  /** Back to sign in, saying why (`session.<reason>`). */
  private sessionEnded(reason: EndReason | "expired" | "locked"): void {
    this.signedIn = null;
    const key = `session.${reason}`;
    this.go({
      screen: "sign_in",
      identifier: this.identifier,
      remember: true,
      notice: { key: hasKey(key) ? key : "session.ended", tone: "warning" },
    });
  }

  private connectivity(online: boolean): void {
    this.online = online;
    // Back online, the Rust side re-validates an offline session and sends
    // `session-ended` if it cannot continue; otherwise the session is an online one again.
    if (online && this.signedIn?.offline) {
      this.signedIn = { ...this.signedIn, offline: false };
      if (this.view.screen === "account") {
        this.go(this.view, false);
        return;
      }
    }
    this.renderBanner();
  }

  /** The server stopped answering ("reconnecting…"), or answers again. */
  private linkChanged(up: boolean): void {
    if (this.online === up) return;
    this.online = up;
    // Back: the account page loads again what it could not (it holds nothing typed).
    if (up && this.signedIn !== null && !this.signedIn.offline && this.view.screen === "account") {
      this.go(this.view, false);
      return;
    }
    this.renderBanner();
  }

  /** A newer release was found: the quiet banner says so (the update screen has its own). */
  private offerUpdate(offer: UpdateOffer): void {
    const same = this.update?.offer.version === offer.version;
    if (!same) this.update = { offer, locale: null };
    this.renderUpdateBanner();
  }

  /** Built again only in another language: a download under way keeps its progress. */
  private renderUpdateBanner(): void {
    const show = this.update !== null && this.view.screen !== "update_required";
    this.updateSlot.hidden = !show;
    if (!show || this.update === null || this.update.locale === currentLocale()) return;
    this.update.locale = currentLocale();
    const open = this.updateSlot.querySelector("details")?.open ?? false;
    const banner = updateBanner(this.update.offer);
    const details = banner.querySelector("details");
    if (details !== null) details.open = open;
    this.updateSlot.replaceChildren(banner);
  }

  private renderBanner(): void {
    let key:
      | "banner.offline_session"
      | "banner.connection_lost"
      | "banner.server_unreachable"
      | "banner.server_unreachable_online_only"
      | null = null;
    if (this.signedIn?.offline) key = "banner.offline_session";
    else if (!this.online && this.signedIn) key = "banner.connection_lost";
    else if (!this.online) key = this.offlineSignin ? "banner.server_unreachable" : "banner.server_unreachable_online_only";
    this.banner.hidden = key === null;
    this.banner.textContent = key === null ? "" : t(key, { days: this.server?.offline_days ?? 0 });
  }

  /** IT's managed settings name the UI's language: it is used, and not offered to change. */
  forceLanguage(language: string | null): void {
    const forced = locales.find((l) => l === language) ?? null;
    if (forced === this.forcedLocale) return;
    this.forcedLocale = forced;
    if (forced !== null && forced !== currentLocale()) {
      setLocale(forced);
      this.sendTrayLabels();
    }
  }

  private renderTopbar(): void {
    const brand = h("div", { class: "brand" }, logo(), h("span", { class: "brand-name" }, t("app.title")));
    document.title = t("app.title");
    if (this.forcedLocale !== null) {
      this.topbar.replaceChildren(brand);
      return;
    }
    const id = uid("language");
    const select = h("select", { id, "data-testid": "language" });
    for (const locale of locales) {
      const option = h("option", { value: locale, lang: locale }, t(`locale.${locale}`));
      option.selected = locale === currentLocale();
      select.append(option);
    }
    select.addEventListener("change", () => this.switchLanguage(select.value as Locale));
    this.topbar.replaceChildren(
      brand,
      h("div", { class: "language" }, h("label", { for: id }, t("language.label")), select),
    );
  }

  /** Re-renders the current screen in `locale`, keeping what the user typed and the error shown. */
  switchLanguage(locale: Locale): void {
    const typed = snapshot(this.content);
    const errors = shownErrors(this.content);
    setLocale(locale, true);
    this.sendTrayLabels();
    this.go(this.view, false);
    restore(this.content, typed);
    reshowErrors(this.content, errors);
    this.topbar.querySelector<HTMLSelectElement>("select")?.focus();
  }
}

/** Creates the app in `root`, in `locale`, and shows the first screen. */
export async function mount(root: HTMLElement, locale: Locale): Promise<App> {
  setLocale(locale);
  const app = new App(root);
  await app.start();
  return app;
}

/** Focus for a new screen: an element marked `data-autofocus`, else the first field, else the heading. */
export function focusFirst(screen: HTMLElement): void {
  const target =
    screen.querySelector<HTMLElement>("[data-autofocus]") ??
    screen.querySelector<HTMLElement>("input:not([type=hidden]):not([disabled]), select, textarea") ??
    screen.querySelector<HTMLElement>("h1");
  target?.focus();
}

type Typed = Map<string, { value: string; checked: boolean }>;

function snapshot(scope: HTMLElement): Typed {
  const typed: Typed = new Map();
  for (const input of scope.querySelectorAll<HTMLInputElement>("input[name]")) {
    typed.set(`${input.name}|${input.type === "radio" ? input.value : ""}`, { value: input.value, checked: input.checked });
  }
  return typed;
}

function restore(scope: HTMLElement, typed: Typed): void {
  for (const input of scope.querySelectorAll<HTMLInputElement>("input[name]")) {
    const saved = typed.get(`${input.name}|${input.type === "radio" ? input.value : ""}`);
    if (!saved) continue;
    if (input.type === "checkbox" || input.type === "radio") {
      input.checked = saved.checked;
      input.dispatchEvent(new Event("change"));
    } else {
      input.value = saved.value;
      if (input.autocomplete === "new-password" && saved.value !== "") input.dispatchEvent(new Event("input"));
    }
  }
}

/** The product mark: a key in a rounded square, drawn with SVG attributes (no inline style). */
function logo(): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "logo");
  svg.setAttribute("aria-hidden", "true");
  const shapes: Array<[string, Record<string, string>]> = [
    ["rect", { x: "1", y: "1", width: "22", height: "22", rx: "6", class: "logo-bg" }],
    ["circle", { cx: "9", cy: "12", r: "3.5", class: "logo-fg", fill: "none", "stroke-width": "2" }],
    ["path", { d: "M12.5 12h7v3M17 12v2.5", class: "logo-fg", fill: "none", "stroke-width": "2", "stroke-linecap": "round" }],
  ];
  for (const [tag, attrs] of shapes) {
    const shape = document.createElementNS(ns, tag);
    for (const [name, value] of Object.entries(attrs)) shape.setAttribute(name, value);
    svg.append(shape);
  }
  return svg;
}
