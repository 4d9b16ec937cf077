import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import { issueToken } from "@switchboard/auth";
import { eventually, startGateway, TEST_SECRET, type GatewayProcess } from "../support/gateway.ts";
import { RawClient } from "../support/raw-client.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";

type Frame = [string | null, string | null, string, string, { status?: string; response?: { reason?: string } }];

let redis: RedisProcess;
let gateway: GatewayProcess;
let listener: Redis;
const published: string[] = [];

before(async () => {
  redis = await startRedis();
  gateway = await startGateway({ redisUrl: redis.url });
  listener = new Redis(redis.url);
  listener.on("pmessage", (_pattern: string, channel: string) => published.push(channel));
  await listener.psubscribe("from:*");
});
after(async () => {
  listener?.disconnect();
  await gateway?.stop();
  await redis?.stop();
});

async function replyTo(client: RawClient, ref: string): Promise<Frame[4]> {
  for (;;) {
    const frame = JSON.parse(await client.nextText()) as Frame;
    if (frame[3] === "phx_reply" && frame[1] === ref) return frame[4];
  }
}

test("a push whose event holds a colon is refused and never reaches from: as another topic", async () => {
  const token = issueToken({ id: "mallory", channel: "orders", ttlSeconds: 60, secret: TEST_SECRET });
  const client = await RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=2.0.0`);
  try {
    client.send(["1", "1", "orders", "phx_join", { token }]);
    assert.equal((await replyTo(client, "1")).status, "ok");
    client.send(["1", "2", "orders", "secret:cmd", { steal: true }]);
    assert.deepEqual(await replyTo(client, "2"), { status: "error", response: { reason: "invalid event" } });
    client.send(["1", "3", "orders", "cmd", { fine: true }]);
    await eventually(() => published.includes("from:orders:cmd"), "the plain push reaches its backend");
    assert.deepEqual(published, ["from:orders:cmd"], "nothing was published for orders:secret");
  } finally {
    client.ws.terminate();
  }
});
