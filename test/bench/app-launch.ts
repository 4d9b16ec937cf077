import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * The environment switchboard's apps run with in the image (Dockerfile `ENV`), for every bench
 * that starts them: the same launch settings, so what is measured is what runs. `BENCH_APP_ENV`
 * (a JSON object) adds to or overrides it, for A/B runs of a launch setting before it goes into
 * the image, e.g. `BENCH_APP_ENV='{"MALLOC_ARENA_MAX":"2"}'`.
 */
export const APP_LAUNCH_ENV: Readonly<Record<string, string>> = {
  NODE_OPTIONS: "--max-semi-space-size=4",
  ...(JSON.parse(process.env.BENCH_APP_ENV ?? "{}") as Record<string, string>),
};

export type App = "gateway" | "bridge";

const root = fileURLToPath(new URL("../..", import.meta.url));
const FROM_SOURCES = process.env.BENCH_APP_SOURCE === "tsx";
let bundled = false;

/**
 * Node arguments that start an app as the image does: its esbuild bundle (`scripts/bundle.mjs`,
 * built once per bench process, about half a second), not its sources through tsx. tsx compiles
 * with esbuild's `keepNames`, which adds an `Object.defineProperty` to every function or closure
 * it creates at run time (≈ 3.7 µs of a join in the join-rate profile), a cost the shipped bundle
 * does not have. `BENCH_APP_SOURCE=tsx` runs the sources instead, for A/B. Relative to the
 * repository root (the cwd the benches give their children).
 */
export function appArgs(app: App): string[] {
  if (FROM_SOURCES) return ["--import", "tsx", `apps/${app}/src/main.ts`];
  if (!bundled) {
    execFileSync(process.execPath, ["scripts/bundle.mjs"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
    bundled = true;
  }
  return [`apps/${app}/dist/main.js`];
}
