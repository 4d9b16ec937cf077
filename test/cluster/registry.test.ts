import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { v2 } from "@switchboard/protocol";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { fakeMember, sleep, startNode, stopNode, counting, uniquePrefix, waitFor, type TestNode } from "./support/nodes.ts";

const HEARTBEAT_MS = 100;
const NODE_TTL_MS = 400;
const settings = { heartbeatMs: HEARTBEAT_MS, nodeTtlMs: NODE_TTL_MS };

describe("node registry", () => {
  let redis: RedisProcess;
  const started: TestNode[] = [];

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await Promise.all(started.map(stopNode));
    await redis.stop();
  });

  async function start(id: string, prefix: string): Promise<TestNode> {
    const node = await startNode(redis.url, id, prefix, settings);
    started.push(node);
    return node;
  }

  async function ids(node: TestNode): Promise<string[]> {
    return (await node.cluster.nodes()).map((info) => info.id).sort();
  }

  async function waitForNodes(node: TestNode, count: number): Promise<void> {
    const deadline = Date.now() + 3_000;
    while ((await ids(node)).length !== count) {
      if (Date.now() > deadline) throw new Error(`${node.id} never listed ${count} nodes`);
      await sleep(20);
    }
  }

  it("lists live nodes with their info and drops one that closed", async () => {
    const prefix = uniquePrefix();
    const [a, b, c] = await Promise.all(["a", "b", "c"].map((id) => start(id, prefix)));
    const downSeenByA: string[] = [];
    a!.cluster.on("node-down", (id) => downSeenByA.push(id));
    await waitForNodes(a!, 3);
    const infos = await b!.cluster.nodes();
    assert.deepEqual(infos.map((info) => info.id).sort(), ["a", "b", "c"]);
    for (const info of infos) {
      assert.equal(info.connections, 0);
      assert.ok(info.startedAt <= info.lastSeen && Date.now() - info.lastSeen < 2_000);
    }

    await c!.cluster.close();
    assert.deepEqual(await ids(a!), ["a", "b"], "a closed node deregisters at once");
    await waitFor(() => downSeenByA.includes("c"), 3_000, "node-down for c on a");
  });

  it("drops a node that stops heartbeating after its TTL and reports it down on every node", async () => {
    const prefix = uniquePrefix();
    const [a, b, dying] = await Promise.all(["a", "b", "dying"].map((id) => start(id, prefix)));
    const seen = { a: [] as string[], b: [] as string[] };
    a!.cluster.on("node-down", (id) => seen.a.push(id));
    b!.cluster.on("node-down", (id) => seen.b.push(id));
    await waitForNodes(a!, 3);
    assert.deepEqual(await ids(a!), ["a", "b", "dying"]);

    // Like SIGKILL: the connection goes away without a goodbye, nothing deregisters.
    dying!.redis.disconnect();
    const killedAt = Date.now();
    await waitFor(() => seen.a.includes("dying") && seen.b.includes("dying"), 3_000, "node-down on a and b");
    assert.ok(Date.now() - killedAt >= NODE_TTL_MS - HEARTBEAT_MS, "not before its TTL ran out");
    assert.deepEqual(await ids(b!), ["a", "b"]);
    assert.deepEqual(seen, { a: ["dying"], b: ["dying"] });
  });

  it("reports the node's member count as its connections by default", async () => {
    const prefix = uniquePrefix();
    const node = await start("counting", prefix);
    node.cluster.add(fakeMember("m1", counting(v2)));
    node.cluster.add(fakeMember("m2", counting(v2)));
    const deadline = Date.now() + 3_000;
    let connections = -1;
    while (connections !== 2 && Date.now() < deadline) {
      connections = (await node.cluster.nodes())[0]?.connections ?? -1;
      await sleep(20);
    }
    assert.equal(connections, 2);
  });

  it("takes no node for dead when Redis lost the registry (restart, flush)", async () => {
    const prefix = uniquePrefix();
    const [a, b] = await Promise.all(["a", "b"].map((id) => start(id, prefix)));
    const down: string[] = [];
    for (const node of [a!, b!]) node.cluster.on("node-down", (id) => down.push(`${node.id} saw ${id}`));
    await waitForNodes(a!, 2);
    await waitForNodes(b!, 2);

    // Whichever node beats first after the loss lists itself alone for a moment.
    await b!.redis.flushall();
    await Promise.all([a!, b!].map((node) => node.cluster.nodes()));
    await sleep(NODE_TTL_MS * 2);
    assert.deepEqual(await ids(b!), ["a", "b"]);
    assert.deepEqual(down, []);
  });
});
