import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MemoryCluster, type ClientView, type MemoryNode } from "./memory-cluster.ts";
import type { PresenceState } from "../src/types.ts";
import { BURST_CHANGES_PER_WINDOW, DEFAULT_DIFF_HOLD_MAX_MS } from "../src/limits.ts";

/** Small enough that a test's topic crosses it in a few joins. */
const BATCH_FROM = 3;

/** Key → sorted refs: a client's meta order follows diff arrival. */
function refsOf(state: PresenceState | ClientView): Record<string, string[]> {
  return Object.fromEntries(
    Object.keys(state)
      .sort()
      .map((key) => [key, state[key]!.metas.map((meta) => meta.phx_ref).sort()]),
  );
}

function joinsAndLeaves(node: MemoryNode): Array<[string[], string[]]> {
  return node.diffs.map(({ diff }) => [Object.keys(diff.joins), Object.keys(diff.leaves)]);
}

/** A node whose topic "t" is already large (BATCH_FROM members, sent), its diffs cleared. */
function largeTopic(cluster = new MemoryCluster()): { cluster: MemoryCluster; node: MemoryNode } {
  const node = cluster.add("a", BATCH_FROM);
  for (let index = 0; index < BATCH_FROM; index += 1) node.engine.track("t", `old${index}`, `old${index}`, {});
  cluster.settle();
  node.diffs.length = 0;
  return { cluster, node };
}

describe("presence diffs of large topics, one per batch window", () => {
  it("sends small topics' diffs at once, then collects a large topic's changes into one diff per window", () => {
    const cluster = new MemoryCluster();
    const node = cluster.add("a", BATCH_FROM);
    node.engine.track("t", "s1", "u1", {});
    node.engine.track("t", "s2", "u2", {});
    assert.equal(node.diffs.length, 2, "below the threshold every join is a diff of its own, at once");
    for (let index = 3; index <= 50; index += 1) node.engine.track("t", `s${index}`, `u${index}`, {});
    assert.equal(node.diffs.length, 2, "from the threshold on nothing goes out before the window ends");
    cluster.settle();
    assert.equal(node.diffs.length, 3);
    assert.equal(Object.keys(node.diffs[2]!.diff.joins).length, 48);
    assert.deepEqual(refsOf(node.clientView("t")), refsOf(node.engine.list("t")));
  });

  it("cancels a join and its leave within one batch when no presence_state showed it", () => {
    const { cluster, node } = largeTopic();
    const early = node.watch("t");
    node.engine.track("t", "brief", "brief", {});
    node.engine.untrack("t", "brief");
    node.engine.track("t", "stays", "stays", {});
    cluster.settle();
    assert.deepEqual(joinsAndLeaves(node), [[["stays"], []]]);
    assert.deepEqual(refsOf(early()), refsOf(node.engine.list("t")));
  });

  it("sends both join and leave when a presence_state went out between them, and every client ends right", () => {
    const { cluster, node } = largeTopic();
    const early = node.watch("t");
    node.engine.track("t", "brief", "brief", {});
    const between = node.watch("t");
    assert.ok(between().brief, "the client that joined between them was shown the member");
    node.engine.untrack("t", "brief");
    const late = node.watch("t");
    cluster.settle();
    assert.deepEqual(joinsAndLeaves(node), [[["brief"], ["brief"]]]);
    const truth = refsOf(node.engine.list("t"));
    assert.equal(truth.brief, undefined);
    for (const [name, view] of Object.entries({ early, between, late })) assert.deepEqual(refsOf(view()), truth, `${name} client`);
  });

  it("within a window every list shows the state of the first one (shared, frozen); the waiting diff brings the rest", () => {
    const { cluster, node } = largeTopic();
    node.engine.track("t", "j1", "j1", {});
    const first = node.watch("t");
    node.engine.track("t", "j2", "j2", {});
    const second = node.watch("t");
    assert.equal(node.engine.list("t"), node.engine.list("t"), "one state object for the window");
    assert.ok(Object.isFrozen(node.engine.list("t")));
    assert.ok(first().j1 && !second().j2, "the second joiner is shown the state of the first list, without itself");
    // j2 joined after the state was shown: nobody saw it, its leave cancels it.
    node.engine.untrack("t", "j2");
    node.engine.track("t", "j3", "j3", {});
    cluster.settle();
    assert.deepEqual(joinsAndLeaves(node), [[["j1", "j3"], []]]);
    const truth = refsOf(node.engine.list("t"));
    assert.notEqual(node.engine.list("t"), node.engine.list("t"), "no window open: the state is built per call");
    assert.deepEqual(refsOf(first()), truth);
    assert.deepEqual(refsOf(second()), truth);
  });

  it("a leave and a rejoin of the same key within a batch leave the new meta only", () => {
    const { cluster, node } = largeTopic();
    const early = node.watch("t");
    node.engine.untrack("t", "old0");
    const rejoined = node.engine.track("t", "old0-again", "old0", { again: true });
    cluster.settle();
    assert.deepEqual(refsOf(early()).old0, [rejoined]);
    assert.deepEqual(refsOf(early()), refsOf(node.engine.list("t")));
  });

  it("an update within a batch reaches clients as its new meta", () => {
    const { cluster, node } = largeTopic();
    const early = node.watch("t");
    node.engine.track("t", "s", "updated", { step: 1 });
    node.watch("t");
    node.engine.update("t", "s", { step: 2 });
    node.engine.update("t", "old1", { step: 2 });
    cluster.settle();
    assert.equal(node.diffs.length, 1);
    assert.deepEqual(early().updated!.metas.map((meta) => (meta as { step?: number }).step), [2]);
    assert.deepEqual(refsOf(early()), refsOf(node.engine.list("t")));
  });

  it("merges another node's changes into the batch waiting to be sent", () => {
    const cluster = new MemoryCluster();
    const [a, b] = [cluster.add("a", BATCH_FROM), cluster.add("b", BATCH_FROM)];
    for (let index = 0; index < 10; index += 1) [a, b][index % 2]!.engine.track("t", `s${index}`, `u${index}`, {});
    cluster.settle();
    a.diffs.length = 0;
    b.diffs.length = 0;
    const onA = a.watch("t");
    const onB = b.watch("t");
    for (let index = 10; index < 30; index += 1) a.engine.track("t", `s${index}`, `u${index}`, {});
    // b's own batch is waiting when a's changes arrive: they join it.
    b.engine.untrack("t", "s1");
    b.engine.track("t", "s31", "u31", {});
    assert.deepEqual(b.engine.receive(a.engine.flush()!), []);
    assert.equal(b.diffs.length, 0, "received changes of a large topic wait as well");
    cluster.settle();
    assert.equal(a.diffs.length, 1, "a: its own changes and b's in one diff");
    assert.equal(b.diffs.length, 1, "b: its own changes and a's in one diff");
    const truth = refsOf(a.engine.list("t"));
    assert.deepEqual(refsOf(b.engine.list("t")), truth);
    assert.deepEqual(refsOf(onA()), truth);
    assert.deepEqual(refsOf(onB()), truth);
  });

  it("holds a topic's diff past its window while the topic is in a burst, up to the hold limit; its joiners keep the state shown first", () => {
    const { cluster, node } = largeTopic();
    const early = node.watch("t");
    const joinWindow = (from: number) => {
      for (let index = from; index < from + BURST_CHANGES_PER_WINDOW; index += 1) node.engine.track("t", `s${index}`, `u${index}`, {});
    };
    joinWindow(0);
    const shown = node.engine.list("t");
    assert.equal(node.engine.emitBatches(), true, "a window of a burst ended: the diff waits");
    assert.equal(node.diffs.length, 0);
    cluster.advance(DEFAULT_DIFF_HOLD_MAX_MS / 2);
    joinWindow(BURST_CHANGES_PER_WINDOW);
    assert.equal(node.engine.list("t"), shown, "joiners while the diff waits get the state shown at its start");
    const midBurst = node.watch("t");
    assert.equal(node.engine.emitBatches(), true);
    cluster.advance(DEFAULT_DIFF_HOLD_MAX_MS / 2);
    joinWindow(2 * BURST_CHANGES_PER_WINDOW);
    assert.equal(node.engine.emitBatches(), false, "held for the limit: sent though the burst goes on");
    assert.equal(node.diffs.length, 1);
    assert.equal(Object.keys(node.diffs[0]!.diff.joins).length, 3 * BURST_CHANGES_PER_WINDOW);
    assert.notEqual(node.engine.list("t"), shown);

    node.engine.track("t", "quiet", "quiet", {});
    assert.equal(node.engine.emitBatches(), false, "fewer changes than a burst's: sent at the window's end");
    assert.equal(node.diffs.length, 2);
    const truth = refsOf(node.engine.list("t"));
    assert.deepEqual(refsOf(early()), truth);
    assert.deepEqual(refsOf(midBurst()), truth);
    cluster.settle();
  });

  it("counts another node's changes towards a burst", () => {
    const cluster = new MemoryCluster();
    const [a, b] = [cluster.add("a", BATCH_FROM), cluster.add("b", BATCH_FROM)];
    for (let index = 0; index < BATCH_FROM; index += 1) b.engine.track("t", `b${index}`, `b${index}`, {});
    cluster.settle();
    b.diffs.length = 0;
    for (let index = 0; index < BURST_CHANGES_PER_WINDOW; index += 1) a.engine.track("t", `a${index}`, `a${index}`, {});
    b.engine.receive(a.engine.flush()!);
    assert.equal(b.engine.emitBatches(), true);
    assert.equal(b.diffs.length, 0);
    assert.equal(b.engine.emitBatches(), false);
    assert.equal(Object.keys(b.diffs[0]!.diff.joins).length, BURST_CHANGES_PER_WINDOW);
  });

  it("every client on every node shows the truth after any mix of changes, listings, flushes and sends", () => {
    const member = fc.integer({ min: 0, max: 7 });
    const node = fc.nat(1);
    // Weighted so that batches hold several changes and clients join between them.
    const op = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant("track" as const), node, member, key: fc.integer({ min: 0, max: 4 }) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant("untrack" as const), node, member }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("update" as const), node, member }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("watch" as const), node }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("flush" as const), node }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("emit" as const), node }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("settle" as const) }) },
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 10, maxLength: 60, size: "max" }), (ops) => {
        const cluster = new MemoryCluster();
        const nodes = [cluster.add("a", BATCH_FROM), cluster.add("b", BATCH_FROM)];
        const views: Array<() => ClientView> = nodes.map((node) => node.watch("t"));
        for (const step of ops) {
          if (step.kind === "settle") {
            cluster.settle();
            continue;
          }
          const node = nodes[step.node]!;
          const memberId = `${step.node}-${"member" in step ? step.member : 0}`;
          if (step.kind === "track") node.engine.track("t", memberId, `k${step.key}`, { at: ops.indexOf(step) });
          else if (step.kind === "untrack") node.engine.untrack("t", memberId);
          else if (step.kind === "update") node.engine.update("t", memberId, { updated: true });
          else if (step.kind === "watch") views.push(node.watch("t"));
          else if (step.kind === "emit") node.engine.emitBatches();
          else cluster.publish(node, node.engine.flush());
        }
        cluster.settle();
        const truth = refsOf(nodes[0]!.engine.list("t"));
        assert.deepEqual(refsOf(nodes[1]!.engine.list("t")), truth);
        for (const view of views) assert.deepEqual(refsOf(view()), truth);
      }),
      { numRuns: 200 },
    );
  });
});

describe("presence diffs only where members are", () => {
  it("builds no diff for a topic without members on this node, and lists it all the same", () => {
    const cluster = new MemoryCluster();
    const withMembers = new Set<string>();
    const a = cluster.add("a", BATCH_FROM);
    const b = cluster.add("b", BATCH_FROM, (topic) => withMembers.has(topic));
    a.engine.track("t", "a1", "x", {});
    for (let index = 0; index < 5; index += 1) a.engine.track("large", `l${index}`, `l${index}`, {});
    cluster.settle();
    assert.deepEqual(b.diffs, []);
    assert.deepEqual(Object.keys(b.engine.list("t")), ["x"]);
    assert.equal(Object.keys(b.engine.list("large")).length, 5);

    withMembers.add("t");
    withMembers.add("large");
    const onB = b.watch("large");
    a.engine.track("t", "a2", "y", {});
    a.engine.untrack("large", "l0");
    cluster.settle();
    assert.deepEqual(joinsAndLeaves(b), [[["y"], []], [[], ["l0"]]]);
    assert.deepEqual(refsOf(onB()), refsOf(a.engine.list("large")));
  });
});
