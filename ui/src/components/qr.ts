// The QR code of the TOTP setup arrives as an SVG document (rendered by the Rust side,
// never by a third party). It is parsed, stripped of anything active, and inserted as an
// <svg> element: no inline style or script is needed, so the CSP stays strict.
const ACTIVE = ["script", "foreignObject", "iframe", "a", "use", "image", "style"];

/** The `<svg>` of `markup` ready to insert, or null when it is not an SVG. */
export function parseQrSvg(markup: string): SVGSVGElement | null {
  const parsed = new DOMParser().parseFromString(markup, "image/svg+xml");
  const root = parsed.documentElement;
  if (root.nodeName.toLowerCase() !== "svg" || parsed.getElementsByTagName("parsererror").length > 0) return null;
  for (const tag of ACTIVE) {
    for (const element of Array.from(root.getElementsByTagName(tag))) element.remove();
  }
  for (const element of [root, ...Array.from(root.getElementsByTagName("*"))]) {
    for (const attribute of Array.from(element.attributes)) {
      const name = attribute.name.toLowerCase();
      if (name.startsWith("on") || name === "style" || name.endsWith("href")) element.removeAttribute(attribute.name);
    }
  }
  const svg = document.importNode(root, true) as unknown as SVGSVGElement;
  // Scales with its box; the size comes from the stylesheet.
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("class", "qr-svg");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  return svg;
}
