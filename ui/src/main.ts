// Entry point of the web UI, loaded by index.html.
import "./style.css";
import { mount } from "./app";
import { initialLocale } from "./i18n";
import { mark } from "./startup";

mark("script");
// Before the first layout: the Linux font stack (see style.css).
if (/Linux/.test(navigator.userAgent) && !/Android/.test(navigator.userAgent)) {
  document.documentElement.dataset.platform = "linux";
}

const root = document.getElementById("app");
if (root) {
  void mount(root, initialLocale(navigator.languages));
}
