#!/usr/bin/env node
// Production bundles of the node apps: apps/<app>/src/main.ts → apps/<app>/dist/main.js (ESM, node20).
// The workspace libs (@switchboard/*) export TypeScript sources, so they are inlined; every npm
// package stays external and is loaded from node_modules at run time (`npm ci --omit=dev`), which
// keeps native and dynamically-required code (ws, engine.io, ioredis, pino's transports) working.
//
//   node scripts/bundle.mjs            both apps
//   node scripts/bundle.mjs gateway    only the named ones
import { build } from "esbuild";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const APPS = ["gateway", "bridge"];
const WORKSPACE_SCOPE = "@switchboard/";

const wanted = process.argv.slice(2);
const unknown = wanted.filter((app) => !APPS.includes(app));
if (unknown.length > 0) fail(`unknown app ${unknown.join(", ")}; expected ${APPS.join(", ")}`);
const apps = wanted.length > 0 ? wanted : APPS;
const missing = apps.filter((app) => !existsSync(entry(app)));
if (missing.length > 0) fail(`no entry point ${missing.map((app) => relative(root, entry(app))).join(", ")}`);

const result = await build({
  entryPoints: Object.fromEntries(apps.map((app) => [`${app}/dist/main`, entry(app)])),
  outdir: join(root, "apps"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  metafile: true,
  logLevel: "warning",
  plugins: [externalPackages()],
});

const runtimeDependencies = declaredDependencies();
const problems = [];
for (const [output, meta] of Object.entries(result.metafile.outputs)) {
  if (!output.endsWith(".js")) continue;
  for (const input of Object.keys(meta.inputs)) {
    if (input.includes("node_modules/")) problems.push(`${output} inlines ${input}: npm packages must stay external`);
  }
  for (const imported of meta.imports) {
    if (!imported.external || isBuiltin(imported.path)) continue;
    const name = packageName(imported.path);
    // A package only a devDependency provides would be missing from the production install.
    if (!runtimeDependencies.has(name)) problems.push(`${output} imports ${name}, which no workspace lists in "dependencies"`);
  }
}
if (problems.length > 0) fail(problems.join("\n"));
for (const app of apps) process.stdout.write(`bundled apps/${app}/dist/main.js\n`);

function entry(app) {
  return join(root, "apps", app, "src", "main.ts");
}

/** Bare imports other than our own workspace packages are left to node's resolution at run time. */
function externalPackages() {
  return {
    name: "external-packages",
    setup(builder) {
      builder.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith(WORKSPACE_SCOPE)) return undefined;
        return { path: args.path, external: true };
      });
    },
  };
}

function isBuiltin(path) {
  return path.startsWith("node:") || builtinModules.includes(path);
}

function packageName(path) {
  const parts = path.split("/");
  return path.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Runtime dependencies of the root and every workspace: what `npm ci --omit=dev` installs. */
function declaredDependencies() {
  const manifests = [join(root, "package.json")];
  for (const group of ["libs", "apps"]) {
    for (const name of readdirSync(join(root, group))) {
      const manifest = join(root, group, name, "package.json");
      if (existsSync(manifest)) manifests.push(manifest);
    }
  }
  const names = new Set();
  for (const manifest of manifests) {
    for (const name of Object.keys(JSON.parse(readFileSync(manifest, "utf8")).dependencies ?? {})) names.add(name);
  }
  return names;
}

function fail(message) {
  process.stderr.write(`bundle: ${message}\n`);
  process.exit(1);
}
