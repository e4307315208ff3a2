// Bundles the two chat pages with esbuild into dist/ (git-ignored): classic.html, v3.html.
// Usage: node build.mjs [OUT_DIR]
import { build } from "esbuild";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, "dist");
mkdirSync(out, { recursive: true });
const pages = ["classic", "v3"];
await build({
  entryPoints: Object.fromEntries(pages.map((page) => [page, join(here, "src", `${page}.jsx`)])),
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  jsx: "automatic",
  outdir: out,
  define: { "process.env.NODE_ENV": '"development"' },
  logLevel: "error",
});
for (const page of pages) {
  writeFileSync(
    join(out, `${page}.html`),
    `<!doctype html>\n<html><head><meta charset="utf-8"><title>${page} chat</title>` +
      `<link rel="icon" href="data:,"></head>\n` +
      `<body><div id="root"></div><script type="module" src="${page}.js"></script></body></html>\n`,
  );
}
