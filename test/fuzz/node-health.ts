import assert from "node:assert/strict";
import type { GatewayProcess } from "../support/gateway.ts";
import { eventually } from "../support/gateway.ts";

/** A Prometheus family from the node's /metrics, summed over its label sets (every sample carries `node`). */
export async function metricValue(gateway: GatewayProcess, name: string): Promise<number> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  const samples = text.split("\n").filter((row) => row.startsWith(`${name}{`) || row.startsWith(`${name} `));
  assert.ok(samples.length > 0, `${name} missing from /metrics`);
  return samples.reduce((sum, row) => sum + Number(row.slice(row.lastIndexOf(" ") + 1)), 0);
}

/**
 * What every fuzz suite asserts at the end: the process is alive, /healthz answers 200, and every
 * channel the random clients joined is gone once they closed.
 */
export async function assertNodeSurvived(gateway: GatewayProcess): Promise<void> {
  assert.equal(gateway.child.exitCode, null, `gateway exited:\n${gateway.output()}`);
  assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200);
  await eventually(async () => (await metricValue(gateway, "switchboard_channels")) === 0, "switchboard_channels back to 0", 10_000);
  assert.doesNotMatch(gateway.output(), /uncaught exception|unhandled rejection/, "the node logged an uncaught error");
}
