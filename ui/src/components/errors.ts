// The error region every screen has: the translated message of an error, the offline
// attempts left, its next-step advice and, for a rejected password, the reasons and
// suggestions. It is an alert (announced at once) and takes the focus, so keyboard and
// screen-reader users land on it.
import type { UiError, UiOnlyCode } from "../codes";
import { h } from "../dom";
import { formatDateTime, formatDuration, t, tCode } from "../i18n";

export interface ErrorRegion {
  element: HTMLDivElement;
  /** Shows `error` and moves the focus to it. */
  show(error: UiError): void;
  /** Shows one of the UI's own errors (a required field…) and moves the focus to it. */
  showUi(code: UiOnlyCode, params?: Record<string, string | number>): void;
  clear(): void;
}

/** The message of `error` in the current locale (never a raw code). */
export function errorMessage(error: UiError): string {
  const params = {
    time: error.retry_after === null ? "" : formatDuration(error.retry_after),
    version: error.min_version ?? "",
    until: error.until === null ? "" : formatDateTime(error.until),
  };
  if (error.code === "rate_limited" && error.retry_after === null) return t("errors.rate_limited_later");
  if (error.code === "server_busy" && error.retry_after === null) return t("errors.server_busy_later");
  if (error.code === "account_locked" && error.retry_after === null) return t("errors.account_locked_later");
  if (error.code === "client_outdated" && error.min_version === null) return t("errors.client_outdated_later");
  return tCode("errors.", error.code, "errors.unknown", params);
}

/** The next-step advice of `error`. */
export function errorAdvice(error: UiError): string {
  return tCode("nextstep.", error.next_step, "nextstep.unknown");
}

/** "N attempts left" for a wrong password offline, or null. */
export function attemptsLeft(error: UiError): string | null {
  if (error.attempts_left === null) return null;
  return error.attempts_left === 1 ? t("errors.attempts_left_one") : t("errors.attempts_left", { n: error.attempts_left });
}

/** What an error region shows, kept so that it can be shown again in another language. */
export type Shown = { error: UiError } | { code: UiOnlyCode; params?: Record<string, string | number> };

const shownIn = new WeakMap<HTMLElement, Shown>();

/** Marks the element of every error region, so that a re-render can find them all. */
const REGION = "[data-error-region]";

/** What the error regions under `scope` show (null: nothing), in document order. */
export function shownErrors(scope: ParentNode): Array<Shown | null> {
  return [...scope.querySelectorAll<HTMLElement>(REGION)].map((el) => shownIn.get(el) ?? null);
}

/**
 * Shows `shown` again in the error regions under `scope` (the same screen, re-rendered
 * in another language), without moving the focus.
 */
export function reshowErrors(scope: ParentNode, shown: Array<Shown | null>): void {
  const elements = [...scope.querySelectorAll<HTMLElement>(REGION)];
  elements.forEach((el, i) => {
    const what = shown[i];
    if (what) renderShown(el, what, false);
  });
}

function list(className: string, items: readonly string[]): HTMLUListElement | "" {
  return items.length === 0 ? "" : h("ul", { class: className }, ...items.map((text) => h("li", {}, text)));
}

function parts(what: Shown): Array<HTMLElement | ""> {
  if (!("error" in what)) return [h("p", { class: "error-message" }, t(`errors.${what.code}`, what.params))];
  const error = what.error;
  const left = attemptsLeft(error);
  return [
    h("p", { class: "error-message" }, errorMessage(error)),
    left === null ? "" : h("p", { class: "error-attempts", "data-testid": "attempts-left" }, left),
    list(
      "reasons",
      error.reasons.map((r) => tCode("strength.reason.", r, "strength.reason.unknown")),
    ),
    list(
      "suggestions",
      error.suggestions.map((s) => tCode("strength.suggestion.", s, "strength.suggestion.unknown")),
    ),
    h("p", { class: "error-advice" }, errorAdvice(error)),
  ];
}

function renderShown(element: HTMLElement, what: Shown, focus: boolean): void {
  element.replaceChildren(...parts(what));
  element.dataset.code = "error" in what ? what.error.code : what.code;
  element.hidden = false;
  shownIn.set(element, what);
  if (focus) element.focus();
}

export function errorRegion(): ErrorRegion {
  const element = h("div", {
    class: "error",
    role: "alert",
    "aria-live": "assertive",
    tabindex: -1,
    "data-testid": "error",
    "data-error-region": true,
    hidden: true,
  });

  return {
    element,
    show(error) {
      renderShown(element, { error }, true);
    },
    showUi(code, params) {
      renderShown(element, params === undefined ? { code } : { code, params }, true);
    },
    clear() {
      shownIn.delete(element);
      element.hidden = true;
      element.replaceChildren();
      delete element.dataset.code;
    },
  };
}
