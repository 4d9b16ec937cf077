#!/usr/bin/env node
// Bundles the chat and the dashboard (with phoenix.js and uPlot) into dist/, which the gateway
// serves as static files (WEB_ROOT). `--watch` rebuilds on change for development.
import { build, context } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const src = here("./src/");
const dist = here("./dist/");

// Pages are copied as written: they reference the bundles by fixed names (main.js, main.css).
const STATIC_FILES = ["index.html", "chat/index.html", "admin/index.html", "shared/favicon.svg:favicon.svg"];

const options = {
  entryPoints: ["chat/main.ts", "admin/main.ts", "home.css"].map((entry) => src + entry),
  outbase: src,
  outdir: dist,
  bundle: true,
  format: "esm",
  target: ["chrome110", "firefox110", "safari16"],
  minify: true,
  sourcemap: "linked",
  logLevel: "warning",
};

function copyStatic() {
  for (const spec of STATIC_FILES) {
    const [from, to = from] = spec.split(":");
    mkdirSync(dist + to.split("/").slice(0, -1).join("/"), { recursive: true });
    cpSync(src + from, dist + to);
  }
}

// Watch mode keeps the previous output until the first rebuild replaces it: a gateway starting
// next to it (npm run dev) must find dist/ there.
if (process.argv.includes("--watch")) {
  const ctx = await context({ ...options, plugins: [{ name: "copy-static", setup: (b) => b.onEnd(copyStatic) }] });
  await ctx.watch();
  process.stdout.write("watching apps/web/src, writing apps/web/dist\n");
} else {
  rmSync(dist, { recursive: true, force: true });
  await build(options);
  copyStatic();
}
