import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { eventually, startGateway, type GatewayProcess } from "../support/gateway.ts";
import { startBridge, type BridgeProcess } from "../support/bridge.ts";
import { allStarted } from "./settle.ts";
import { StockClient, tokenFor } from "./stock-client.ts";

/**
 * The bridge outlives Redis outages: it reconnects by itself, says so, takes the lease again and
 * forwards; a bridge started while Redis is down comes up once Redis does.
 */
let redis: RedisProcess;
let gateway: GatewayProcess;
let bridge: BridgeProcess;
let client: StockClient;

before(async () => {
  redis = await startRedis();
  await allStarted([
    startGateway({ redisUrl: redis.url }).then((g) => (gateway = g)),
    startBridge({ redisUrl: redis.url, env: { LOG_LEVEL: "info" } }).then((b) => (bridge = b)),
  ]);
});
after(async () => {
  client?.disconnect();
  await Promise.all([gateway?.stop(), bridge?.stop()]);
  await redis?.stop();
});

test("after a Redis restart the bridge reconnects, logs it, leads again and forwards", async () => {
  client = new StockClient(gateway.wsUrl);
  const channel = await client.joinOrThrow("news", { token: tokenFor("news") }, ["item"]);
  const publisher = new Redis(redis.url, { retryStrategy: () => 100 });
  publisher.on("error", () => {});
  try {
    const deliver = async (n: number) =>
      eventually(
        async () => {
          await publisher.publish("to:news:item", JSON.stringify({ n })).catch(() => 0);
          return channel.of("item").some((p) => (p as { n: number }).n === n);
        },
        `item ${n} delivered`,
        10_000,
      );
    await deliver(1);
    await redis.restart(300);
    await deliver(2);
    assert.equal((await bridge.status()).leader, true);
    assert.match(bridge.output(), /redis unreachable, reconnecting/);
    assert.match(bridge.output(), /redis connection restored/);
  } finally {
    publisher.disconnect();
  }
});

test("a bridge started while Redis is down waits for it instead of exiting", async () => {
  redis.kill();
  const late = await startBridge({ redisUrl: redis.url, nodeId: "late" });
  try {
    const waiting = await late.status();
    assert.deepEqual({ ready: waiting.ready, leader: waiting.leader }, { ready: false, leader: false });
    await redis.start();
    await eventually(async () => (await late.status()).ready, "the late bridge connects and subscribes", 10_000);
    assert.equal(late.child.exitCode, null);
  } finally {
    assert.equal(await late.stop("SIGTERM"), 0);
  }
});
