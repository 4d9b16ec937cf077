import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MIN_TOMBSTONES_BEFORE_ROTATION } from "../src/limits.ts";
import { MemoryCluster } from "./memory-cluster.ts";

const LIVE_MEMBERS = 200;
const SETTLE_EVERY = 50;

/**
 * Join/leave churn on one topic with a steady crowd; returns the largest encoded state of owner
 * and replica seen at any flush (the size saws between rotations, so one sample proves nothing).
 */
function churn(cluster: MemoryCluster, cycles: number, state: { next: number }): { owner: number; replica: number } {
  const [owner, replica] = cluster.nodes;
  const largest = { owner: 0, replica: 0 };
  for (let cycle = 1; cycle <= cycles; cycle += 1) {
    const leaving = state.next - LIVE_MEMBERS;
    owner!.engine.untrack("t", `m${leaving}`);
    owner!.engine.track("t", `m${state.next}`, `user${state.next}`, { online_at: String(state.next) });
    state.next += 1;
    if (cycle % SETTLE_EVERY === 0) {
      cluster.settle();
      owner!.diffs.length = 0;
      replica!.diffs.length = 0;
      largest.owner = Math.max(largest.owner, owner!.engine.encodedStateBytes());
      largest.replica = Math.max(largest.replica, replica!.engine.encodedStateBytes());
    }
  }
  return largest;
}

describe("document rotation", () => {
  it("keeps the encoded state flat under join/leave churn, on the owner and on replicas", () => {
    const cluster = new MemoryCluster(false);
    const [owner, replica] = [cluster.add("owner"), cluster.add("replica")];
    const state = { next: 0 };
    for (; state.next < LIVE_MEMBERS; state.next += 1) owner.engine.track("t", `m${state.next}`, `user${state.next}`, { online_at: String(state.next) });
    cluster.settle();
    const liveOnly = owner.engine.encodedStateBytes();

    const early = churn(cluster, 1_500, state);
    const late = churn(cluster, 6_000, state);
    assert.equal(owner.engine.entries(), LIVE_MEMBERS);
    assert.equal(replica.engine.entries(), LIVE_MEMBERS);
    assert.deepEqual(replica.engine.list("t"), owner.engine.list("t"));
    assert.ok(late.owner <= early.owner * 1.5, `owner state grew from ${early.owner} to ${late.owner} bytes`);
    assert.ok(late.replica <= early.replica * 1.5, `replica state grew from ${early.replica} to ${late.replica} bytes`);
    // At most MIN_TOMBSTONES_BEFORE_ROTATION tombstones on top of the live entries, each far smaller than an entry.
    const bound = liveOnly + MIN_TOMBSTONES_BEFORE_ROTATION * 40;
    assert.ok(late.owner <= bound, `owner state ${late.owner} bytes exceeds ${bound}`);
    assert.ok(late.replica <= bound, `replica state ${late.replica} bytes exceeds ${bound}`);
  });

  it("rotates a document whose own member keeps updating its meta", () => {
    const cluster = new MemoryCluster(false);
    const [owner, replica] = [cluster.add("owner"), cluster.add("replica")];
    owner.engine.track("t", "m", "k", { n: 0 });
    cluster.settle();
    const fresh = owner.engine.encodedStateBytes();
    for (let n = 1; n <= 5_000; n += 1) {
      owner.engine.update("t", "m", { n });
      if (n % SETTLE_EVERY === 0) {
        cluster.settle();
        owner.diffs.length = 0;
        replica.diffs.length = 0;
      }
    }
    cluster.settle();
    assert.deepEqual(replica.engine.list("t"), owner.engine.list("t"));
    assert.equal(owner.engine.list("t").k!.metas[0]!.n, 5_000);
    assert.ok(owner.engine.encodedStateBytes() <= fresh + MIN_TOMBSTONES_BEFORE_ROTATION * 40);
  });
});
