#!/usr/bin/env node
// Docker HEALTHCHECK for both commands of the image. The gateway answers GET /healthz on PORT;
// the bridge only when HEALTH_PORT is set, otherwise it is healthy while it runs (it exits on a
// fatal error, and the container stops with it).
import { readFileSync } from "node:fs";

/** Shorter than the HEALTHCHECK --timeout, so a hung server reads as unhealthy, not as a timeout. */
const PROBE_TIMEOUT_MS = 2_000;

const command = readFileSync("/proc/1/cmdline", "utf8");
const isBridge = command.includes("apps/bridge/");
const port = process.env.HEALTH_PORT || (isBridge ? undefined : process.env.PORT || "4000");
if (port === undefined) process.exit(0);

try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
