// Entry point of the web UI, loaded by index.html.
import "./style.css";
import { mount } from "./app";
import { initialLocale } from "./i18n";

const root = document.getElementById("app");
if (root) {
  void mount(root, initialLocale(navigator.languages));
}
