/**
 * A gateway node with a memory probe, forked by `memory.ts` with --expose-gc: the real node
 * (apps/gateway startGateway, config from the environment) plus an IPC channel answering
 * `measure` (process.memoryUsage after two full GCs, and RSS before them, as the bench sees it),
 * `snapshot` (a heap snapshot summarised by constructor), `sample` (start V8's sampling heap
 * profiler) and `sites` (bytes per allocation site since, promoted or live; runs a full GC).
 */
import { unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getHeapSpaceStatistics, writeHeapSnapshot } from "node:v8";
import { pino } from "pino";
import { loadConfig } from "@switchboard/config";
import { startGateway } from "../../../apps/gateway/src/node.ts";
import { AllocationSampler, type SampleKind, type SiteBytes } from "./allocation-sites.ts";
import { summariseHeapSnapshot, type ClassSize } from "./heap-summary.ts";

export type ProbeRequest = { type: "measure"; collect: boolean } | { type: "snapshot" } | { type: "sample"; kind: SampleKind } | { type: "sites" };
export type ProbeReply =
  | { type: "listening"; url: string }
  | { type: "sampling" }
  | { type: "sites"; bytes: SiteBytes }
  | { type: "measured"; rssBeforeGc: number; rss: number; heapTotal: number; heapUsed: number; newSpaceSize: number; newSpaceUsed: number; external: number; arrayBuffers: number }
  | { type: "snapshot"; classes: Record<string, ClassSize> };

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc");
const loaded = loadConfig({ env: process.env });
if (!loaded.ok) throw new Error(loaded.errors.join("; "));
const gateway = await startGateway(loaded.config, pino({ level: loaded.config.logLevel }));
const reply = (message: ProbeReply) => process.send?.(message);
const sampler = new AllocationSampler();

process.on("message", (request: ProbeRequest) => {
  if (request.type === "sample") {
    void sampler.start(request.kind).then(() => reply({ type: "sampling" }));
  } else if (request.type === "sites") {
    void sampler.sites().then((bytes) => reply({ type: "sites", bytes }));
  } else if (request.type === "measure") {
    const rssBeforeGc = process.memoryUsage.rss();
    if (request.collect) {
      gc();
      gc();
    }
    const usage = process.memoryUsage();
    const newSpace = getHeapSpaceStatistics().find((space) => space.space_name === "new_space");
    reply({
      type: "measured",
      rssBeforeGc,
      rss: usage.rss,
      heapTotal: usage.heapTotal,
      heapUsed: usage.heapUsed,
      newSpaceSize: newSpace?.space_size ?? 0,
      newSpaceUsed: newSpace?.space_used_size ?? 0,
      external: usage.external,
      arrayBuffers: usage.arrayBuffers,
    });
  } else {
    const file = writeHeapSnapshot(join(tmpdir(), `switchboard-memory-${process.pid}.heapsnapshot`));
    try {
      reply({ type: "snapshot", classes: summariseHeapSnapshot(file) });
    } finally {
      unlinkSync(file);
    }
  }
});
process.on("disconnect", () => void gateway.close().finally(() => process.exit(0)));
reply({ type: "listening", url: gateway.url });
