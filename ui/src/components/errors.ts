// The error region every screen has: the translated message of an `AppError`, its
// next-step advice and, for a rejected password, the reasons. It is an alert
// (announced at once) and takes the focus, so keyboard and screen-reader users land on it.
import type { AppError } from "../bindings/AppError";
import { h } from "../dom";
import { formatDateTime, formatDuration, t, tCode, type MessageKey } from "../i18n";

export interface ErrorRegion {
  element: HTMLDivElement;
  /** Shows `error` and moves the focus to it. */
  show(error: AppError): void;
  /** Shows a message of the catalogs (a UI-side error) and moves the focus to it. */
  showKey(key: MessageKey, params?: Record<string, string | number>): void;
  clear(): void;
}

/** The message of `error` in the current locale (never a raw code). */
export function errorMessage(error: AppError): string {
  const params = {
    time: error.retry_after === null ? "" : formatDuration(error.retry_after),
    version: error.min_version ?? "",
    until: error.until === null ? "" : formatDateTime(error.until),
  };
  if (error.code === "rate_limited" && error.retry_after === null) return t("errors.rate_limited_later");
  if (error.code === "account_locked" && error.retry_after === null) return t("errors.account_locked_later");
  return tCode("errors.", error.code, "errors.unknown", params);
}

/** The next-step advice of `error`, or null. */
export function errorAdvice(error: AppError): string | null {
  return error.next_step === null ? null : tCode("nextstep.", error.next_step, "nextstep.unknown");
}

export function errorRegion(): ErrorRegion {
  const element = h("div", {
    class: "error",
    role: "alert",
    "aria-live": "assertive",
    tabindex: -1,
    "data-testid": "error",
    hidden: true,
  });

  function render(message: string, advice: string | null, reasons: readonly string[], code: string): void {
    const list =
      reasons.length > 0
        ? h("ul", { class: "reasons" }, ...reasons.map((r) => h("li", {}, tCode("strength.reason.", r, "strength.reason.unknown"))))
        : null;
    element.replaceChildren(
      h("p", { class: "error-message" }, message),
      advice === null ? "" : h("p", { class: "error-advice" }, advice),
      list ?? "",
    );
    element.dataset.code = code;
    element.hidden = false;
    element.focus();
  }

  return {
    element,
    show(error) {
      render(errorMessage(error), errorAdvice(error), error.reasons, error.code);
    },
    showKey(key, params) {
      render(t(key, params), null, [], key);
    },
    clear() {
      element.hidden = true;
      element.replaceChildren();
      delete element.dataset.code;
    },
  };
}
