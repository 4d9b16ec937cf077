import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Redis } from "ioredis";
import { eventually, startGateway, type GatewayProcess } from "../support/gateway.ts";
import { startBridge } from "../support/bridge.ts";
import { RawClient } from "../support/raw-client.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";

/**
 * One recorded topic gets a burst: the bridge forwards its messages without waiting for each
 * other's answers (appends and publishes pipelined on one connection), so what must hold is the
 * order: clients get every message once, in publish order, carrying history ids that grow, and
 * history holds them in that same order.
 */
// A rooms:* topic: the example channel joins without a token, and backend messages reach it as on any topic.
const TOPIC = "rooms:hot";
const BURST = 400;

let redis: RedisProcess;
const processes: GatewayProcess[] = [];
const clients: RawClient[] = [];
after(async () => {
  for (const client of clients) client.ws.terminate();
  await Promise.all(processes.map((process) => process.stop()));
  await redis?.stop();
});

test("a burst on one recorded topic arrives once, in order, with growing history ids that match history's order", async () => {
  redis = await startRedis();
  const env = { RECOVERY_PATTERNS: TOPIC };
  const gateway = await startGateway({ redisUrl: redis.url, env });
  processes.push(gateway);
  const bridge = await startBridge({ redisUrl: redis.url, env });
  processes.push(bridge);
  await eventually(async () => (await bridge.status()).leader, "the bridge leads", 10_000);

  const client = await RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=2.0.0`);
  clients.push(client);
  client.send(["1", "1", TOPIC, "phx_join", {}]);
  const reply = JSON.parse(await client.nextText()) as [string, string, string, string, { status: string }];
  assert.equal(reply[4].status, "ok");
  const received: Array<{ n: number; id: string }> = [];
  client.ws.on("message", (data: Buffer) => {
    const [, ref, topic, event, payload] = JSON.parse(data.toString()) as [unknown, string, string, string, { n: number }];
    if (topic === TOPIC && event === "tick") received.push({ n: payload.n, id: ref });
  });

  const publisher = new Redis(redis.url);
  try {
    // One write for the whole burst: the bridge reads it in a few chunks and has many in flight.
    await Promise.all(Array.from({ length: BURST }, (_, index) => publisher.publish(`to:${TOPIC}:tick`, JSON.stringify({ n: index + 1 }))));
    await eventually(() => received.length >= BURST, `${BURST} messages delivered`, 10_000);
    const history = (await publisher.xrange(`sb:history:${TOPIC}`, "-", "+")) as Array<[string, string[]]>;

    assert.deepEqual(
      received.map(({ n }) => n),
      Array.from({ length: BURST }, (_, index) => index + 1),
      "every message once, in publish order",
    );
    const ids = received.map(({ id }) => id);
    assert.ok(
      ids.every((id, index) => index === 0 || isAfter(id, ids[index - 1]!)),
      "history ids grow in delivery order",
    );
    assert.deepEqual(
      history.map(([id]) => id),
      ids,
      "history holds each message once, in the order clients got them",
    );
  } finally {
    publisher.disconnect();
  }
});

function isAfter(id: string, than: string): boolean {
  const [time, sequence] = id.split("-").map(Number) as [number, number];
  const [thanTime, thanSequence] = than.split("-").map(Number) as [number, number];
  return time > thanTime || (time === thanTime && sequence > thanSequence);
}
