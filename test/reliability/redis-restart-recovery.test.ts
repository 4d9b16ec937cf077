import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Redis } from "ioredis";
import { eventually, startGateways, type GatewayProcess } from "../support/gateway.ts";
import { startBridge, type BridgeProcess } from "../support/bridge.ts";
import { RawClient } from "../support/raw-client.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";

/**
 * A Redis without persistence restarts under a steady backend stream: the lease key, the history
 * streams and every subscription are gone at once. Sockets that stay connected must still get
 * every message the backend managed to publish, once and in order, on a recovery topic.
 */
const TOPICS = ["rooms:blip:a", "rooms:blip:b", "rooms:blip:c"];
const CLIENTS_PER_TOPIC_PER_NODE = 2;
const PUBLISH_EVERY_MS = 5;
const DOWN_MS = 800;
/** Publishing goes on this long after Redis is back, so the restart is in the middle of the stream. */
const AFTER_RESTART_MS = 2_500;

let redis: RedisProcess;
const processes: GatewayProcess[] = [];
const clients: RawClient[] = [];
after(async () => {
  for (const client of clients) client.ws.terminate();
  await Promise.all(processes.map((process) => process.stop()));
  await redis?.stop();
});

interface Subscriber {
  client: RawClient;
  node: string;
  topic: string;
  numbers: number[];
}

test("Redis restart mid-stream with recovery on: connected sockets get every published message once, in order", async () => {
  redis = await startRedis({ appendOnly: true });
  const env = { RECOVERY_PATTERNS: "rooms:blip:*", LOG_LEVEL: "info" };
  const gateways = await startGateways(2, { redisUrl: redis.url, env });
  processes.push(...gateways);
  const bridges: BridgeProcess[] = [];
  for (const nodeId of ["bridge-a", "bridge-b"]) bridges.push(await startBridge({ redisUrl: redis.url, nodeId, env }));
  processes.push(...bridges);
  await eventually(async () => (await Promise.all(bridges.map((bridge) => bridge.status()))).some((status) => status.leader), "a bridge leads", 10_000);

  const subscribers: Subscriber[] = [];
  for (const gateway of gateways) {
    for (const topic of TOPICS) {
      for (let i = 0; i < CLIENTS_PER_TOPIC_PER_NODE; i++) {
        const client = await RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=2.0.0`);
        clients.push(client);
        const subscriber: Subscriber = { client, node: gateway.nodeId, topic, numbers: [] };
        client.send(["1", "1", topic, "phx_join", {}]);
        const reply = JSON.parse(await client.nextText()) as [string, string, string, string, { status: string }];
        assert.equal(reply[4].status, "ok");
        client.ws.on("message", (data: Buffer) => {
          const frame = JSON.parse(data.toString()) as [unknown, unknown, string, string, { n: number }];
          if (frame[3] === "tick" && frame[2] === topic) subscriber.numbers.push(frame[4].n);
        });
        subscribers.push(subscriber);
      }
    }
  }

  // As a backend does: a message counts as sent once PUBLISH reached a bridge; until then the
  // same number is retried. One that reached only some of the bridges (the others' subscriptions
  // not back yet) may have missed the leader: pub/sub keeps nothing for a subscriber that is away,
  // so such a number is allowed to be lost, never to arrive twice or out of order.
  const publisher = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => 20 });
  publisher.on("error", () => undefined);
  const sent = new Map(TOPICS.map((topic) => [topic, 0]));
  const partlyReceived = new Map(TOPICS.map((topic) => [topic, new Set<number>()]));
  let publishing = true;
  const loop = (async () => {
    for (let turn = 0; publishing; turn++) {
      const topic = TOPICS[turn % TOPICS.length]!;
      const n = sent.get(topic)! + 1;
      const receivers = await publisher.publish(`to:${topic}:tick`, JSON.stringify({ n })).catch(() => 0);
      if (receivers > 0) sent.set(topic, n);
      if (receivers > 0 && receivers < bridges.length) partlyReceived.get(topic)!.add(n);
      await new Promise((resolve) => setTimeout(resolve, PUBLISH_EVERY_MS));
    }
  })();

  try {
    await eventually(() => subscribers.every((subscriber) => subscriber.numbers.length > 20), "delivery before the restart", 10_000);
    await redis.restart(DOWN_MS);
    await new Promise((resolve) => setTimeout(resolve, AFTER_RESTART_MS));
  } finally {
    publishing = false;
    await loop;
    publisher.disconnect();
  }

  const required = (topic: string) => Array.from({ length: sent.get(topic)! }, (_, index) => index + 1).filter((n) => !partlyReceived.get(topic)!.has(n));
  const complete = () => subscribers.every((subscriber) => subscriber.numbers.at(-1) === sent.get(subscriber.topic));
  await eventually(complete, "every published message delivered", 10_000).catch(() => undefined);
  for (const subscriber of subscribers) {
    const missing = required(subscriber.topic).filter((n) => !subscriber.numbers.includes(n));
    assert.deepEqual(
      { missing, outOfOrderOrTwice: subscriber.numbers.filter((n, index) => index > 0 && n <= subscriber.numbers[index - 1]!) },
      { missing: [], outOfOrderOrTwice: [] },
      `${subscriber.topic} on ${subscriber.node}: got ${subscriber.numbers.length} of ${sent.get(subscriber.topic)} (${partlyReceived.get(subscriber.topic)!.size} reached only one bridge)`,
    );
    assert.equal(subscriber.numbers[0], 1);
  }
  for (const process of processes) assert.equal(process.child.exitCode, null, process.output());
});
