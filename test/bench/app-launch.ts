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
