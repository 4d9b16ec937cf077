import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { CloseCode } from "@switchboard/protocol";
import { eventually, startGateway, type GatewayProcess } from "../support/gateway.ts";
import { RawClient } from "../support/raw-client.ts";
import { startBridge, type BridgeProcess } from "../support/bridge.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { metricValue } from "../fuzz/node-health.ts";

const MAX_PER_IP = 3;
const PUSH_RATE = 5;
const SEND_QUEUE_BYTES = 256 * 1024;

type Reply = [string | null, string | null, string, string, { status: string; response: { reason?: string } }];

/** Joins `topic` on a fresh V2 socket and reads up to the join reply. */
async function joined(gateway: GatewayProcess, topic: string): Promise<RawClient> {
  const client = await RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=2.0.0`);
  client.send(["1", "1", topic, "phx_join", {}]);
  for (;;) {
    const frame = JSON.parse(await client.nextText()) as Reply;
    if (frame[3] === "phx_reply" && frame[1] === "1") {
      assert.equal(frame[4].status, "ok");
      return client;
    }
  }
}

describe("limits on a live node", () => {
  let redis: RedisProcess;
  let gateway: GatewayProcess;
  let bridge: BridgeProcess;
  const clients: RawClient[] = [];

  before(async () => {
    redis = await startRedis();
    gateway = await startGateway({
      redisUrl: redis.url,
      env: { MAX_CONNECTIONS_PER_IP: String(MAX_PER_IP), PUSH_RATE_PER_SECOND: String(PUSH_RATE), SEND_QUEUE_BYTES: String(SEND_QUEUE_BYTES) },
    });
    bridge = await startBridge({ redisUrl: redis.url });
    await eventually(async () => (await bridge.status()).leader, "the bridge holds the lease", 10_000);
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await bridge?.stop();
    await gateway?.stop();
    await redis?.stop();
  });

  test("MAX_CONNECTIONS_PER_IP: past it WebSocket and new LongPoll sessions get HTTP 429; a closed socket frees its slot", async () => {
    const open = await Promise.all(Array.from({ length: MAX_PER_IP }, () => RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=2.0.0`)));
    await assert.rejects(RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=2.0.0`), { status: 429 });
    assert.equal((await fetch(`${gateway.url}/socket/longpoll?vsn=2.0.0`)).status, 429);
    // A forged session token slips past the cheap check; the exact count closes that session at once.
    const forged = (await (await fetch(`${gateway.url}/socket/longpoll?vsn=2.0.0&token=forged`)).json()) as { status: number; token: string };
    const poll = (await (await fetch(`${gateway.url}/socket/longpoll?vsn=2.0.0&token=${encodeURIComponent(forged.token)}`)).json()) as { status: number };
    assert.equal(poll.status, 410, "the session over the limit is closed");
    assert.ok((await metricValue(gateway, "switchboard_connections_refused_total")) >= 3);

    open[0]!.close();
    await eventually(async () => {
      try {
        clients.push(await RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=2.0.0`));
        return true;
      } catch {
        return false;
      }
    }, "a slot freed by a close", 3_000);
    for (const client of open) client.ws.terminate();
    for (const client of clients.splice(0)) client.ws.terminate();
    await eventually(async () => (await metricValue(gateway, "switchboard_connections")) === 0, "every socket closed");
  });

  test("PUSH_RATE_PER_SECOND: a burst past the bucket gets 'rate limited' replies, the socket stays open and recovers", async () => {
    const client = await joined(gateway, "rooms:rate");
    clients.push(client);
    const pushes = PUSH_RATE * 4;
    for (let ref = 0; ref < pushes; ref++) client.send(["1", `p${ref}`, "rooms:rate", "echo", { ref }]);
    const statuses = new Map<string, string>();
    while (statuses.size < pushes) {
      const frame = JSON.parse(await client.nextText()) as Reply;
      if (frame[3] !== "phx_reply" || !frame[1]?.startsWith("p")) continue;
      statuses.set(frame[1], frame[4].status === "ok" ? "ok" : String(frame[4].response.reason));
    }
    const limited = [...statuses.values()].filter((status) => status === "rate limited").length;
    assert.equal(statuses.size - limited, PUSH_RATE * 2, "the burst allowance is twice the rate");
    assert.ok([...statuses.values()].every((status) => status === "ok" || status === "rate limited"));
    assert.ok((await metricValue(gateway, "switchboard_rate_limited_total")) >= limited);

    await new Promise((resolve) => setTimeout(resolve, 1_000 / PUSH_RATE + 50));
    client.send(["1", "after", "rooms:rate", "echo", {}]);
    for (;;) {
      const frame = JSON.parse(await client.nextText()) as Reply;
      if (frame[1] === "after") return assert.equal(frame[4].status, "ok", "the bucket refills");
    }
  });

  test("slow consumer: a client that stops reading is closed with 4008 and counted; the others keep their latency", async () => {
    for (const client of clients.splice(0)) client.ws.terminate();
    const publisher = new Redis(redis.url);
    const body = "x".repeat(32 * 1024);
    const messages = 300;
    /** Broadcasts from Redis as a backend sends them (the push rate limit does not pace these); the fast client's p99 latency. */
    const flood = async (topic: string, fast: RawClient): Promise<number> => {
      const latencies: number[] = [];
      fast.ws.on("message", (data: Buffer) => {
        const text = data.toString();
        if (text.includes('"flood"')) latencies.push(Date.now() - (JSON.parse(text) as [null, null, string, string, { sent: number }])[4].sent);
      });
      for (let index = 0; index < messages; index++) {
        await publisher.publish(`to:${topic}:flood`, JSON.stringify({ sent: Date.now(), body }));
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      await eventually(() => latencies.length === messages, `fast client got all ${messages} (has ${latencies.length})`, 10_000);
      latencies.sort((a, b) => a - b);
      return latencies[Math.floor(messages * 0.99)]!;
    };
    try {
      const baseline = await flood("rooms:calm", await joined(gateway, "rooms:calm"));
      const slow = await joined(gateway, "rooms:flood");
      const fast = await joined(gateway, "rooms:flood");
      clients.push(slow, fast);
      const stalled = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      stalled.pause();
      const withStall = await flood("rooms:flood", fast);
      await eventually(async () => (await metricValue(gateway, "switchboard_slow_consumers_total")) === 1, "the slow consumer closed and counted", 10_000);
      // Generous for a loaded machine: what it guards against is the fast client waiting on the stalled one.
      assert.ok(withStall <= baseline * 2 + 150, `fast client p99 ${withStall} ms with a stalled consumer, ${baseline} ms without`);
      stalled.resume();
      await eventually(() => slow.frames.some((frame) => "close" in frame && frame.close.code === CloseCode.SLOW_CONSUMER), "the stalled client reads 4008 when it resumes", 10_000);
    } finally {
      publisher.disconnect();
    }
  });
});
