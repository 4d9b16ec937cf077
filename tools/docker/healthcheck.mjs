#!/usr/bin/env node
// Docker HEALTHCHECK for both commands of the image: the gateway and the bridge each answer
// GET /healthz on PORT while the process serves.

/** Shorter than the HEALTHCHECK --timeout, so a hung server reads as unhealthy, not as a timeout. */
const PROBE_TIMEOUT_MS = 2_000;

const port = process.env.PORT || "4000";
try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
