// The live strength meter under a new-password field: a bar, a label and the translated
// reasons and suggestions, announced politely. It asks `password_strength` on every
// keystroke and keeps only the answer to the latest question.
import { passwordStrength } from "../api";
import type { Strength } from "../bindings/Strength";
import { h } from "../dom";
import { t, tCode, type MessageKey } from "../i18n";

export interface StrengthMeter {
  element: HTMLDivElement;
  /** True when the policy accepts the password; null when it could not be checked. */
  accepted(): boolean | null;
  /** Re-checks the input's current value (after the language switch restored it). */
  refresh(): void;
}

const LABELS: readonly MessageKey[] = [
  "strength.score.0",
  "strength.score.1",
  "strength.score.2",
  "strength.score.3",
  "strength.score.4",
];

/** Watches `input`; calls `onChange` whenever the verdict changes. */
export function strengthMeter(input: HTMLInputElement, onChange: () => void): StrengthMeter {
  const bar = h("div", { class: "strength-bar", "aria-hidden": "true", "data-score": "none" });
  for (let i = 0; i < 5; i += 1) bar.append(h("span", { class: "segment" }));
  const label = h("p", { class: "strength-label", "data-testid": "strength-label" });
  const reasons = h("ul", { class: "strength-reasons", "data-testid": "strength-reasons" });
  const suggestions = h("ul", { class: "strength-suggestions", "data-testid": "strength-suggestions" });
  const live = h("div", { class: "strength-text", "aria-live": "polite" }, label, reasons, suggestions);
  const element = h("div", { class: "strength", "data-testid": "strength", hidden: true }, bar, live);

  let latest = 0;
  let verdict: boolean | null = false;

  function reset(): void {
    element.hidden = true;
    bar.dataset.score = "none";
    label.textContent = "";
    reasons.replaceChildren();
    suggestions.replaceChildren();
  }

  function show(strength: Strength): void {
    const score = Math.min(4, Math.max(0, Math.round(strength.score)));
    element.hidden = false;
    bar.dataset.score = String(score);
    bar.dataset.accepted = String(strength.accepted);
    const scoreLabel = t(LABELS[score] ?? "strength.score.0");
    label.textContent = t(strength.accepted ? "strength.label_accepted" : "strength.label_rejected", { score: scoreLabel });
    const reasonCodes = [...strength.reasons];
    if (strength.too_long && !reasonCodes.includes("too_long")) reasonCodes.unshift("too_long");
    reasons.replaceChildren(...reasonCodes.map((code) => h("li", {}, tCode("strength.reason.", code, "strength.reason.unknown"))));
    suggestions.replaceChildren(
      ...strength.suggestions.map((code) => h("li", {}, tCode("strength.suggestion.", code, "strength.suggestion.unknown"))),
    );
  }

  function check(): void {
    const value = input.value;
    latest += 1;
    const question = latest;
    if (value === "") {
      verdict = false;
      reset();
      onChange();
      return;
    }
    verdict = false;
    onChange();
    passwordStrength(value).then(
      (strength) => {
        if (question !== latest) return;
        verdict = strength.accepted && !strength.too_long;
        show(strength);
        onChange();
      },
      (error: unknown) => {
        if (question !== latest) return;
        // The server judges the password again on submit; do not lock the user out of
        // the form because the local check failed.
        console.error("password_strength failed", error);
        verdict = null;
        element.hidden = false;
        bar.dataset.score = "none";
        label.textContent = t("strength.unavailable");
        reasons.replaceChildren();
        suggestions.replaceChildren();
        onChange();
      },
    );
  }

  input.addEventListener("input", check);
  return { element, accepted: () => verdict, refresh: check };
}
