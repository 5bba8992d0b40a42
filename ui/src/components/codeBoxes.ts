// Six one-digit boxes for an e-mailed or texted code: typing advances, Backspace on an
// empty box goes back, arrows move, and pasting the whole code into any box fills them
// all (so does typing faster than focus moves: extra digits flow into the next boxes).
import { h, uid } from "../dom";
import { t } from "../i18n";

export interface CodeBoxes {
  element: HTMLFieldSetElement;
  boxes: HTMLInputElement[];
  value(): string;
  clear(): void;
  focus(): void;
}

/**
 * The ASCII digits of what was typed or pasted. NFKC first, so that the full-width
 * digits of a Chinese IME (`１２３`) count as the digits they are.
 */
export function digitsOf(text: string): string {
  return text.normalize("NFKC").replace(/\D/g, "");
}

export function codeBoxes(length: number, onComplete: () => void): CodeBoxes {
  const boxes: HTMLInputElement[] = [];
  const legend = h("legend", {}, t("code.legend"));
  const row = h("div", { class: "code-boxes" });
  for (let i = 0; i < length; i += 1) {
    const id = uid("code-digit");
    const input = h("input", {
      id,
      name: `code-${i}`,
      type: "text",
      inputmode: "numeric",
      pattern: "[0-9]*",
      autocomplete: i === 0 ? "one-time-code" : "off",
      class: "code-box",
      "data-testid": `code-box-${i}`,
      "aria-label": t("code.digit", { n: i + 1, total: length }),
    });
    boxes.push(input);
    row.append(input);
  }

  const value = () => boxes.map((b) => b.value).join("");

  function fill(from: number, digits: string): void {
    let index = from;
    for (const digit of digits) {
      const box = boxes[index];
      if (!box) break;
      box.value = digit;
      index += 1;
    }
    const next = boxes[Math.min(index, length - 1)];
    next?.focus();
    if (value().length === length) onComplete();
  }

  boxes.forEach((box, index) => {
    box.addEventListener("input", () => {
      const digits = digitsOf(box.value);
      box.value = "";
      if (digits === "") return;
      // A whole code typed or autofilled into one box starts at the first box.
      fill(digits.length >= length ? 0 : index, digits.slice(0, length));
    });
    box.addEventListener("paste", (event) => {
      event.preventDefault();
      const digits = digitsOf(event.clipboardData?.getData("text") ?? "");
      if (digits === "") return;
      fill(digits.length >= length ? 0 : index, digits.slice(0, length));
    });
    box.addEventListener("keydown", (event) => {
      if (event.key === "Backspace" && box.value === "" && index > 0) {
        event.preventDefault();
        const previous = boxes[index - 1];
        if (previous) {
          previous.value = "";
          previous.focus();
        }
      } else if (event.key === "ArrowLeft" && index > 0) {
        event.preventDefault();
        boxes[index - 1]?.focus();
      } else if (event.key === "ArrowRight" && index < length - 1) {
        event.preventDefault();
        boxes[index + 1]?.focus();
      }
    });
    box.addEventListener("focus", () => box.select());
  });

  const element = h("fieldset", { class: "code-entry", "data-testid": "code-entry" }, legend, row);
  return {
    element,
    boxes,
    value,
    clear() {
      for (const box of boxes) box.value = "";
    },
    focus() {
      (boxes.find((b) => b.value === "") ?? boxes[0])?.focus();
    },
  };
}
