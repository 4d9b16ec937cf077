import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { converged, startNode, waitFor, type TestNode } from "./nodes.ts";

/** The target: a SIGKILLed node's presences are gone from every other node within 5 s. */
const CLEANUP_TARGET_MS = 5_000;
const PREFIX = "sbdead:";
const MEMBERS = 50;

function spawnPresenceProcess(redisUrl: string, nodeId: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", new URL("./presence-process.ts", import.meta.url).pathname, redisUrl, PREFIX, nodeId, "t", String(MEMBERS)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("presence process did not start within 15 s")), 15_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      if (!chunk.toString().includes("tracked")) return;
      clearTimeout(timer);
      resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`presence process exited early with ${code}`)));
  });
}

describe("a node killed without closing", () => {
  let redis: RedisProcess;
  let survivors: TestNode[] = [];
  const children: ChildProcess[] = [];

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await Promise.all(survivors.map((node) => node.close()));
    await redis.stop();
  });

  it("leaves every surviving node, with leaves diffs, within the target; its restart never revives them", async () => {
    survivors = [startNode(redis.url, PREFIX, "survivor0"), startNode(redis.url, PREFIX, "survivor1")];
    await Promise.all(survivors.map((node) => node.presence.whenReady()));
    survivors[0]!.presence.track("t", "local", "survivor", {});
    const victim = await spawnPresenceProcess(redis.url, "victim");
    children.push(victim);
    await waitFor(() => survivors.every((node) => node.presence.entries() === MEMBERS + 1), 5_000, "the victim's entries to arrive");
    for (const node of survivors) node.watch("t");

    const deadRefs = new Set(Object.values(survivors[1]!.presence.list("t")).flatMap(({ metas }) => metas.map((meta) => meta.phx_ref)));
    const killedAt = Date.now();
    victim.kill("SIGKILL");
    const cleanupMs = await waitFor(() => survivors.every((node) => node.presence.entries() === 1), CLEANUP_TARGET_MS, "the dead node's entries to leave");
    assert.ok(converged(survivors, "t"), "survivors and their clients agree");
    for (const node of survivors) {
      assert.deepEqual(Object.keys(node.clientView("t") ?? {}), ["survivor"]);
      const leaves = node.diffs.filter(({ at }) => at >= killedAt).flatMap(({ diff }) => Object.keys(diff.leaves));
      assert.equal(leaves.length, MEMBERS, "one leave per dead entry");
    }
    process.stdout.write(`# dead-node cleanup took ${cleanupMs} ms\n`);

    const restarted = await spawnPresenceProcess(redis.url, "victim");
    children.push(restarted);
    await waitFor(() => survivors.every((node) => node.presence.entries() === MEMBERS + 1), 5_000, "the restarted node's fresh entries");
    const refsNow = Object.values(survivors[1]!.presence.list("t")).flatMap(({ metas }) => metas.map((meta) => meta.phx_ref));
    assert.deepEqual(refsNow.filter((ref) => deadRefs.has(ref)), [survivors[1]!.presence.list("t").survivor!.metas[0]!.phx_ref], "only the survivor's own entry is older than the restart");
    restarted.kill("SIGKILL");
  });
});
