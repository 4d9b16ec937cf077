import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Redis } from "ioredis";
import { eventually, startGateway, type GatewayProcess } from "../support/gateway.ts";
import { startBridge, type BridgeProcess } from "../support/bridge.ts";
import { RawClient } from "../support/raw-client.ts";
import { startRedis, waitForPort, type RedisProcess } from "../support/redis.ts";

const readyStatus = async (gateway: GatewayProcess) => (await fetch(`${gateway.url}/readyz`)).status;

/** Reads frames until a `tick` broadcast; its payload. */
async function nextTick(client: RawClient, timeoutMs = 5_000): Promise<{ n: number }> {
  for (;;) {
    const frame = JSON.parse(await client.nextText(timeoutMs)) as [unknown, unknown, string, string, { n: number }];
    if (frame[3] === "tick") return frame[4];
  }
}

describe("Redis faults on live processes", () => {
  const cleanup: Array<() => Promise<unknown> | void> = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  test("Redis unreachable at start: the node listens, /readyz 503, sockets wait; when Redis comes it is ready and serves them", async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    redis.kill();
    await eventually(async () => {
      try {
        await waitForPort(redis.port, 50);
        return false;
      } catch {
        return true;
      }
    }, "Redis down", 3_000);

    const gateway = await startGateway({ redisUrl: redis.url });
    cleanup.push(() => gateway.stop());
    assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200, "live without Redis");
    assert.equal(await readyStatus(gateway), 503, "not ready without Redis");
    const waiting = RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=2.0.0`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(gateway.child.exitCode, null, `the node must wait, not exit:\n${gateway.output()}`);

    await redis.start();
    await eventually(async () => (await readyStatus(gateway)) === 200, "ready once Redis is up", 10_000);
    const client = await waiting;
    cleanup.push(() => client.ws.terminate());
    client.send(["1", "1", "rooms:late", "phx_join", {}]);
    const reply = JSON.parse(await client.nextText()) as unknown[];
    assert.deepEqual(reply.slice(1, 4), ["1", "rooms:late", "phx_reply"]);
    assert.doesNotMatch(gateway.output(), /uncaught exception|unhandled rejection/);
  });

  test("Redis restart mid-broadcast: no crash, readiness returns, delivery resumes for the sockets that stayed", async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const gateway = await startGateway({ redisUrl: redis.url, env: { RECOVERY_PATTERNS: "rooms:*" } });
    cleanup.push(() => gateway.stop());
    const bridge: BridgeProcess = await startBridge({ redisUrl: redis.url, env: { RECOVERY_PATTERNS: "rooms:*" } });
    cleanup.push(() => bridge.stop());
    await eventually(async () => (await bridge.status()).leader, "bridge leader", 10_000);

    const client = await RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=2.0.0`);
    cleanup.push(() => client.ws.terminate());
    client.send(["1", "1", "rooms:restart", "phx_join", {}]);
    await client.nextText();

    const publisher = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    publisher.on("error", () => undefined);
    cleanup.push(() => publisher.disconnect());
    let n = 0;
    let publishing = true;
    const loop = (async () => {
      while (publishing) {
        await publisher.publish("to:rooms:restart:tick", JSON.stringify({ n: ++n })).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    assert.ok((await nextTick(client)).n >= 1, "delivery before the restart");
    await redis.restart(500);
    await eventually(async () => (await readyStatus(gateway)) === 200, "gateway ready again", 15_000);
    await eventually(async () => (await bridge.status()).leader, "bridge leader again", 15_000);

    // Everything published from now on reaches the socket that stayed connected through the outage.
    const fromNow = n + 1;
    const seen = new Set<number>();
    await eventually(async () => {
      const tick = await nextTick(client, 1_000).catch(() => undefined);
      if (tick && tick.n >= fromNow) seen.add(tick.n);
      return seen.size >= 20;
    }, "20 ticks after the restart", 15_000);
    publishing = false;
    await loop;
    for (const process of [gateway, bridge]) {
      assert.equal(process.child.exitCode, null, process.output());
      assert.doesNotMatch(process.output(), /uncaught exception|unhandled rejection/);
    }
  });
});
