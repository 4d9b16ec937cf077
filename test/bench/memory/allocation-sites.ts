import type { HeapProfiler } from "node:inspector";
import { Session } from "node:inspector/promises";

/** One allocation site: the allocating function and its callers, innermost first. */
export type SiteBytes = Record<string, number>;

/** Frames of a site: enough callers to tell a join's allocation from a broadcast's. */
const SITE_DEPTH = 4;
/**
 * Bytes between samples (V8's default is 32 KiB): small enough that a per-join allocation of a
 * few hundred bytes shows up over thousands of joins, large enough not to slow the node much.
 */
const SAMPLING_INTERVAL_BYTES = 2048;

/**
 * What a sample stands for at the end: `allocated`, every byte allocated; `promoted`, the bytes
 * that lived long enough to be promoted to old space (or are still young and alive), whether
 * still alive or not (samples of objects a full GC collected are kept, those a scavenge collected
 * dropped); `live`, the bytes still alive.
 */
export type SampleKind = "allocated" | "promoted" | "live";

/**
 * V8's sampling heap profiler over the inspector of this process, per allocation site. Reading
 * the profile runs a full GC (V8 does so to drop dead samples), so it comes after every other
 * reading.
 */
export class AllocationSampler {
  private readonly session = new Session();

  async start(kind: SampleKind): Promise<void> {
    this.session.connect();
    await this.session.post("HeapProfiler.startSampling", { samplingInterval: SAMPLING_INTERVAL_BYTES, includeObjectsCollectedByMajorGC: kind !== "live", includeObjectsCollectedByMinorGC: kind === "allocated" });
  }

  /** Bytes per allocation site allocated since `start`, promoted or live (see SampleKind). */
  async sites(): Promise<SiteBytes> {
    const { profile } = await this.session.post("HeapProfiler.getSamplingProfile");
    const bytes: SiteBytes = {};
    const walk = (node: HeapProfiler.SamplingHeapProfileNode, callers: string[]) => {
      const { functionName, url, lineNumber } = node.callFrame;
      const frame = functionName || url ? `${functionName || "(anonymous)"} ${shortUrl(url)}:${lineNumber + 1}` : "(root)";
      const stack = [frame, ...callers].slice(0, SITE_DEPTH);
      const site = stack.join(" ← ");
      if (node.selfSize > 0) bytes[site] = (bytes[site] ?? 0) + node.selfSize;
      for (const child of node.children) walk(child, stack);
    };
    walk(profile.head, []);
    return bytes;
  }
}

/** Paths from the repository's top folders on (and packages by name), whatever the checkout's location. */
function shortUrl(url: string): string {
  return url.replace(/^(file:\/\/)?.*?\/(libs|apps|node_modules|test)\//, "$2/").replace(/^node_modules\//, "");
}
