// Entry point of the web UI, loaded by index.html.
import "./style.css";
import { mount } from "./app";
import { detectLocale } from "./i18n";

const root = document.getElementById("app");
if (root) {
  void mount(root, detectLocale(navigator.languages));
}
