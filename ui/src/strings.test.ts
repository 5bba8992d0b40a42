// No user-facing text outside the catalogs: the screens and components may not contain
// CJK characters or English sentences in string literals. A heuristic, but it catches
// the usual slip of typing a label straight into the code.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// Vitest runs in ui/ (`npm --prefix ui test`); the sources are under src/.
const here = join(process.cwd(), "src");
const DIRECTORIES = ["screens", "components"];
const SOURCE_FILES = [
  ...DIRECTORIES.flatMap((dir) =>
    readdirSync(join(here, dir))
      .filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts"))
      .map((name) => join(dir, name)),
  ),
  "app.ts",
  "dom.ts",
];

/** String literals of `source` without comments (good enough for this code base). */
function literals(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  return Array.from(code.matchAll(/"((?:[^"\\\n]|\\.)*)"|`((?:[^`\\]|\\.)*)`/g), (m) => m[1] ?? m[2] ?? "");
}

describe("no user-facing strings in the code", () => {
  it("finds the source files", () => {
    expect(SOURCE_FILES.length).toBeGreaterThan(20);
  });

  it.each(SOURCE_FILES)("%s has no CJK text and no English sentence in a string literal", (file) => {
    const source = readFileSync(join(here, file), "utf8");
    const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    expect(code.match(/[\u3000-\u9fff\uff00-\uffef]/g) ?? [], "CJK characters").toEqual([]);
    const sentences = literals(source).filter(
      (text) =>
        // Words with a capital first letter and spaces, or ending like a sentence.
        /^[A-Z][a-z]+(?: [A-Za-z]+)+/.test(text) || /[a-z]{3,} [a-z]{3,}.*[.!?:]$/.test(text),
    );
    expect(sentences, "sentences outside the catalogs").toEqual([]);
  });

  it("the heuristic catches a typed-in label", () => {
    expect(literals('h("button", {}, "Sign in")').filter((text) => /^[A-Z][a-z]+(?: [A-Za-z]+)+/.test(text))).toEqual(["Sign in"]);
  });
});
