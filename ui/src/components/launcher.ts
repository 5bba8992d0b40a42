// The signed-in home's applications: the launcher's tiles (one click opens the
// application in the default browser, already signed in) and the applications signed
// in through Latchkey, each with its own "sign out". Both need the server.
import { launchApp, launcherApps, signedInAppSignOut, signedInApps } from "../api";
import type { LauncherApp } from "../bindings/LauncherApp";
import type { SignedInAppView } from "../bindings/SignedInAppView";
import type { Ctx } from "../context";
import { h, runBusy } from "../dom";
import { formatDateTime, t } from "../i18n";
import type { ErrorRegion } from "./errors";

/** Where a panel draws and reports. */
export interface PanelHost {
  ctx: Ctx;
  body: HTMLElement;
  /** The account page's status line (announced politely). */
  status: HTMLElement;
  errors: ErrorRegion;
}

/** Loads and draws the launcher's tiles. */
export async function loadLauncher(host: PanelHost): Promise<void> {
  try {
    const apps = await launcherApps();
    host.body.replaceChildren(tiles(host, apps));
    // No application listed (a server without them): no panel to read every day.
    host.body.closest("section")?.toggleAttribute("hidden", apps.length === 0);
  } catch {
    host.body.replaceChildren(h("p", { class: "muted" }, t("account.unavailable")));
  }
}

function tiles(host: PanelHost, apps: readonly LauncherApp[]): HTMLElement {
  if (apps.length === 0) return h("p", { class: "muted" }, t("launcher.none"));
  const list = h("ul", { class: "tiles", "data-testid": "launcher" });
  for (const app of apps) {
    const tile = h(
      "button",
      { type: "button", class: "tile", "data-testid": `launch-${app.client_id}`, "aria-label": t("launcher.open_label", { app: app.name }) },
      icon(app),
      h("span", { class: "tile-name" }, app.name),
    );
    tile.addEventListener("click", () => {
      void runBusy(list, tile, async () => {
        host.errors.clear();
        host.status.textContent = "";
        try {
          await launchApp(app.client_id);
          host.ctx.reached();
          host.status.textContent = t("launcher.opening", { app: app.name });
        } catch (error) {
          host.ctx.fail(error, host.errors);
        }
      });
    });
    list.append(h("li", {}, tile));
  }
  return list;
}

/** The icon IT gave (a `data:` image only), or the name's first letter. */
function icon(app: LauncherApp): HTMLElement {
  if (app.icon !== null && /^data:image\/(png|svg\+xml);base64,/.test(app.icon)) {
    return h("img", { class: "tile-icon", src: app.icon, alt: "", width: 40, height: 40 });
  }
  return h("span", { class: "tile-icon tile-letter", "aria-hidden": "true" }, Array.from(app.name.trim())[0]?.toUpperCase() ?? "?");
}

/** Loads and draws the applications signed in through Latchkey. */
export async function loadSignedInApps(host: PanelHost): Promise<void> {
  try {
    const apps = await signedInApps();
    host.body.replaceChildren(appList(host, apps));
  } catch {
    host.body.replaceChildren(h("p", { class: "muted" }, t("account.unavailable")));
  }
}

function appList(host: PanelHost, apps: readonly SignedInAppView[]): HTMLElement {
  if (apps.length === 0) return h("p", { class: "muted" }, t("apps.none"));
  const list = h("ul", { class: "rows", "data-testid": "signed-in-apps" });
  const when = (seconds: number) => formatDateTime(new Date(seconds * 1000).toISOString());
  for (const app of apps) {
    const signOut = h(
      "button",
      { type: "button", class: "button secondary small", "data-testid": `app-sign-out-${app.client_id}`, "aria-label": t("apps.sign_out_label", { app: app.name }) },
      t("apps.sign_out"),
    );
    signOut.addEventListener("click", () => {
      void runBusy(list, signOut, async () => {
        host.errors.clear();
        try {
          await signedInAppSignOut(app.client_id);
          host.ctx.reached();
          host.status.textContent = t("apps.signed_out", { app: app.name });
          await loadSignedInApps(host);
        } catch (error) {
          host.ctx.fail(error, host.errors);
        }
      });
    });
    list.append(
      h(
        "li",
        { class: "row", "data-app": app.client_id },
        h(
          "div",
          { class: "row-main" },
          h("p", { class: "row-title" }, app.name),
          h("p", { class: "muted small" }, t("apps.times", { last: when(app.last_at), first: when(app.first_at) })),
        ),
        signOut,
      ),
    );
  }
  return list;
}
