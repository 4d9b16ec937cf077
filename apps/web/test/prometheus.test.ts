import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseSamples, total } from "../src/admin/prometheus.ts";

const EXPOSITION = `# HELP switchboard_connections Open client connections
# TYPE switchboard_connections gauge
switchboard_connections{transport="websocket",node="n-1"} 3
switchboard_connections{transport="longpoll",node="n-1"} 2
switchboard_deliveries_total{node="n-1"} 1234
weird_label{node="a \\"quoted\\" one",path="c:\\\\tmp"} 1
not_a_number{node="n-1"} NaN
process_start_time_seconds{node="n-1"} 1795420000
garbage line
`;

describe("Prometheus text parsing", () => {
  it("keeps the wanted families with their labels and sums them", () => {
    const samples = parseSamples(EXPOSITION, (name) => name.startsWith("switchboard_"));
    assert.equal(samples.length, 3);
    assert.deepEqual(samples[0], { name: "switchboard_connections", labels: { transport: "websocket", node: "n-1" }, value: 3 });
    assert.equal(total(samples, "switchboard_connections"), 5);
    assert.equal(total(samples, "switchboard_deliveries_total"), 1234);
    assert.equal(total(samples, "switchboard_missing"), undefined);
  });

  it("unescapes label values and skips values that are not numbers", () => {
    const samples = parseSamples(EXPOSITION, () => true);
    assert.deepEqual(samples.find((sample) => sample.name === "weird_label")?.labels, { node: 'a "quoted" one', path: "c:\\tmp" });
    assert.equal(samples.some((sample) => sample.name === "not_a_number"), false);
    assert.equal(samples.some((sample) => sample.name === "garbage"), false);
  });
});
