// Small DOM helpers shared by the screens: elements from a tag, attributes and children;
// labelled form fields; a form that submits once at a time. No framework: each screen
// builds its elements once and updates text in place.

type Attrs = Record<string, string | number | boolean | null | undefined>;
type Child = Node | string | null | undefined | false;

/**
 * An element with attributes and children. `class` and any attribute are set with
 * `setAttribute`; `true` sets a boolean attribute, `false`/`null`/`undefined` skip it.
 * Strings become text nodes (never HTML).
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(parent: Element, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

let counter = 0;
/** A document-unique id for label/input pairs. */
export function uid(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

export interface Field<E extends HTMLElement = HTMLInputElement> {
  wrapper: HTMLDivElement;
  input: E;
  hint: HTMLParagraphElement | null;
}

/** A `<label>` + `<input>` pair; `hint` is tied to the input with aria-describedby. */
export function field(label: string, attrs: Attrs, hint?: string): Field {
  const id = uid(String(attrs.name ?? "field"));
  const input = h("input", { id, ...attrs });
  let hintElement: HTMLParagraphElement | null = null;
  if (hint) {
    hintElement = h("p", { class: "hint", id: `${id}-hint` }, hint);
    input.setAttribute("aria-describedby", hintElement.id);
  }
  const wrapper = h("div", { class: "field" }, h("label", { for: id }, label), input, hintElement);
  return { wrapper, input, hint: hintElement };
}

/** A checkbox with its label after it. */
export function checkbox(label: string, attrs: Attrs): Field {
  const id = uid(String(attrs.name ?? "check"));
  const input = h("input", { id, type: "checkbox", ...attrs });
  const wrapper = h("div", { class: "field check" }, input, h("label", { for: id }, label));
  return { wrapper, input, hint: null };
}

/** A button that looks like a link (for actions inside the app, not navigation). */
export function linkButton(label: string, attrs: Attrs = {}): HTMLButtonElement {
  return h("button", { type: "button", class: "link", ...attrs }, label);
}

/** A primary (or `secondary`) button. */
export function button(label: string, attrs: Attrs = {}, kind: "primary" | "secondary" | "danger" = "primary"): HTMLButtonElement {
  return h("button", { type: "button", class: `button ${kind}`, ...attrs }, label);
}

/**
 * Runs `task` with every button of `scope` disabled and `busyButton` marked busy, so a
 * command is never sent twice. Resolves when the task is done (never rejects: the task
 * handles its own errors). Returns false when a task was already running.
 */
export async function runBusy(
  scope: HTMLElement,
  busyButton: HTMLButtonElement | null,
  task: () => Promise<void>,
): Promise<boolean> {
  if (scope.getAttribute("aria-busy") === "true") return false;
  scope.setAttribute("aria-busy", "true");
  const buttons = Array.from(scope.querySelectorAll("button"));
  const wasDisabled = new Map(buttons.map((b) => [b, b.disabled]));
  for (const b of buttons) b.disabled = true;
  busyButton?.classList.add("busy");
  try {
    await task();
  } finally {
    // The screen may have been replaced meanwhile; restoring detached buttons is harmless.
    scope.removeAttribute("aria-busy");
    busyButton?.classList.remove("busy");
    for (const b of buttons) {
      if (b.dataset.keepDisabled === "true") continue;
      b.disabled = wasDisabled.get(b) ?? false;
    }
    // Components whose buttons depend on their own state (a strength verdict, a
    // countdown) re-evaluate them now.
    scope.dispatchEvent(new Event("busy-end"));
  }
  return true;
}

/** A `<form>` whose submit (Enter or the submit button) runs `onSubmit` busy. */
export function form(attrs: Attrs, onSubmit: (submitter: HTMLButtonElement | null) => Promise<void>): HTMLFormElement {
  const element = h("form", { novalidate: true, ...attrs });
  element.addEventListener("submit", (event) => {
    event.preventDefault();
    const submitter =
      (event as SubmitEvent).submitter instanceof HTMLButtonElement
        ? ((event as SubmitEvent).submitter as HTMLButtonElement)
        : element.querySelector<HTMLButtonElement>("button[type=submit]");
    if (submitter?.disabled) return;
    void runBusy(element, submitter, () => onSubmit(submitter));
  });
  return element;
}

/** A screen's heading, focusable so focus can land on it when a screen has no field. */
export function heading(text: string, level: "h1" | "h2" = "h1"): HTMLHeadingElement {
  return h(level, { tabindex: -1 }, text);
}

/** Copies `text` to the clipboard; false when the web view refuses. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
