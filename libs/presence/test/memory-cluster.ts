import { Presence as PhoenixPresence } from "phoenix";
import { pino } from "pino";
import { PresenceEngine } from "../src/engine.ts";
import type { PresenceDiff, PresenceState } from "../src/types.ts";

/** What a stock phoenix.js `Presence` would show after the diffs a node delivered for a topic. */
export type ClientView = Record<string, { metas: Array<{ phx_ref: string }> }>;

export interface MemoryNode {
  engine: PresenceEngine;
  /** Every diff delivered; churn tests clear it as they go. */
  diffs: Array<{ topic: string; diff: PresenceDiff }>;
  /** The topic as a client that got `presence_state` when this node started and every diff since sees it. */
  clientView(topic: string): ClientView;
  /** A client joining `topic` now: it gets `presence_state` (a `list`), then every diff; returns what it shows. */
  watch(topic: string): () => ClientView;
  /** While false, messages to this node are lost (a dropped subscription). */
  connected: boolean;
}

const silent = pino({ level: "silent" });

/**
 * Engines wired through an in-memory channel: every published message reaches every connected
 * engine, in order, like Redis pub/sub. Nothing is delivered until `deliver()` runs.
 */
export class MemoryCluster {
  readonly nodes: MemoryNode[] = [];
  private readonly queue: Array<{ from: MemoryNode; bytes: Uint8Array }> = [];
  private clock = 1_700_000_000_000;

  /** Client views cost a copy of the topic's state per diff (phoenix.js clones it too); churn tests go without. */
  constructor(private readonly withClientViews = true) {}

  add(name: string, batchedDiffMinEntries?: number, hasMembers?: (topic: string) => boolean): MemoryNode {
    const views = new Map<string, PresenceState>();
    const watchers: Array<{ topic: string; state: PresenceState }> = [];
    const node: MemoryNode = {
      diffs: [],
      connected: true,
      clientView: (topic) => (views.get(topic) ?? {}) as ClientView,
      watch: (topic) => {
        const watcher = { topic, state: structuredClone(node.engine.list(topic)) };
        watchers.push(watcher);
        return () => watcher.state as ClientView;
      },
      engine: new PresenceEngine({
        incarnation: `${name}.${this.nodes.length}`,
        logger: silent,
        now: () => this.clock,
        batchedDiffMinEntries,
        hasMembers,
        onDirty: () => {},
        onBatch: () => {},
        onDiff: (topic, diff) => {
          node.diffs.push({ topic, diff });
          if (this.withClientViews) views.set(topic, PhoenixPresence.syncDiff(views.get(topic) ?? {}, structuredClone(diff)));
          for (const watcher of watchers) {
            if (watcher.topic === topic) watcher.state = PhoenixPresence.syncDiff(watcher.state, structuredClone(diff));
          }
        },
      }),
    };
    this.nodes.push(node);
    return node;
  }

  publish(from: MemoryNode, bytes: Uint8Array | undefined): void {
    if (bytes) this.queue.push({ from, bytes });
  }

  /** Flushes every node, then delivers until nothing is left in flight (answers included); then every node sends its batched diffs, held ones included. */
  settle(maxMessages = 10_000): number {
    for (const node of this.nodes) this.publish(node, node.engine.flush());
    let delivered = 0;
    while (this.queue.length > 0) {
      if (++delivered > maxMessages) throw new Error("presence messages never settle");
      const { from, bytes } = this.queue.shift()!;
      for (const node of this.nodes) {
        if (node === from || !node.connected) continue;
        for (const answer of node.engine.receive(bytes)) this.queue.push({ from: node, bytes: answer });
      }
      for (const node of this.nodes) this.publish(node, node.engine.flush());
    }
    // A diff held for a burst goes at the next window's end: the window just ended saw no change.
    for (const node of this.nodes) while (node.engine.emitBatches());
    return delivered;
  }

  advance(ms: number): void {
    this.clock += ms;
  }
}
