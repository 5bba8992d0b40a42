// In-app updates: the quiet banner that says a newer version is available (with IT's
// notes), and "Update now" — download with a progress bar, signature check, install and
// restart, all done by the Rust side (`update_install`), which refuses an artifact whose
// signature does not match the app's key and then installs nothing. An app installed
// from a .deb or .rpm is updated by the package manager, and says so instead.
import { asAppError, onUpdateProgress, updateInstall } from "../api";
import type { UpdateOffer } from "../bindings/UpdateOffer";
import { button, h } from "../dom";
import { t } from "../i18n";
import { errorRegion } from "./errors";

/** "Update now" with its progress and errors, or the package manager's note. */
export function installControl(offer: UpdateOffer | null, primary: boolean): HTMLElement {
  if (offer?.install_by === "package_manager") {
    return h("p", { class: "update-install", "data-testid": "update-package-manager" }, t("update.package_manager"));
  }
  const progress = h("progress", { max: 1, value: 0, hidden: true, "data-testid": "update-progress", "aria-label": t("update.progress") });
  const status = h("p", { class: "muted small", role: "status", "data-testid": "update-status" });
  const error = errorRegion();
  const now = button(t("update.now"), { "data-testid": "update-now" }, primary ? "primary" : "secondary");

  const shown = (downloaded: number, total: number | null): void => {
    if (total !== null && total > 0) {
      progress.max = total;
      progress.value = downloaded;
      status.textContent =
        downloaded >= total ? t("update.installing") : t("update.downloading", { percent: Math.floor((downloaded * 100) / total) });
    } else {
      progress.removeAttribute("value");
      status.textContent = t("update.downloading_unknown");
    }
  };

  now.addEventListener("click", () => {
    void (async () => {
      now.disabled = true;
      error.clear();
      progress.hidden = false;
      shown(0, null);
      const stop = await onUpdateProgress(shown).catch(() => null);
      try {
        await updateInstall();
        // The app restarts into the new version; this is what shows until it does.
        status.textContent = t("update.restarting");
      } catch (failure) {
        progress.hidden = true;
        status.textContent = "";
        now.disabled = false;
        error.show(asAppError(failure));
      } finally {
        stop?.();
      }
    })();
  });
  return h("div", { class: "update-install" }, h("div", { class: "buttons" }, now), progress, status, error.element);
}

/** The banner of a newer release that is not required: its version, notes and "Update now". */
export function updateBanner(offer: UpdateOffer): HTMLElement {
  const notes =
    offer.notes === null
      ? null
      : h("details", {}, h("summary", {}, t("update.whats_new")), h("p", { class: "selectable update-notes" }, offer.notes));
  return h(
    "section",
    { class: "banner update", "aria-label": t("update.available_label"), "data-testid": "update-banner" },
    h("p", {}, t("update.available", { version: offer.version })),
    notes,
    installControl(offer, false),
  );
}
