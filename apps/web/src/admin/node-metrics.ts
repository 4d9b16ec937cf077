/// <reference lib="dom" />
import type { NodeReading } from "./cluster-state.ts";
import { parseSamples, total } from "./prometheus.ts";

const FAMILIES = new Set(["switchboard_connections", "switchboard_deliveries_total", "process_start_time_seconds"]);
// Anything slower than this is a stuck node; the next tick asks again.
const SCRAPE_TIMEOUT_MS = 3_000;

/**
 * Reads /metrics of whichever node answers the page's origin: its id (the `node` label every
 * family carries), connections, start time and the delivery counter.
 */
export async function scrapeNode(): Promise<NodeReading | undefined> {
  const response = await fetch("/metrics", { cache: "no-store", signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
  if (!response.ok) return undefined;
  const samples = parseSamples(await response.text(), (name) => FAMILIES.has(name));
  const id = samples.find((sample) => sample.labels.node !== undefined)?.labels.node;
  if (id === undefined) return undefined;
  const connections = total(samples, "switchboard_connections");
  const deliveries = total(samples, "switchboard_deliveries_total");
  const started = total(samples, "process_start_time_seconds");
  return {
    id,
    at: Date.now(),
    ...(connections !== undefined ? { connections } : {}),
    ...(deliveries !== undefined ? { deliveries } : {}),
    ...(started !== undefined ? { startedAt: started * 1000 } : {}),
  };
}
