import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import * as phoenix from "phoenix";
import { eventually, startGateways, type GatewayProcess } from "../support/gateway.ts";
import { startBridge, type BridgeProcess } from "../support/bridge.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { RecoveringClient, type PhoenixModule } from "./recovery-client.ts";

const CLIENTS = 10;
const MESSAGES = 300;
const KILL_AT = 100;
const PUBLISH_EVERY_MS = 5;
const TOPIC = "rooms:kill";

describe("SIGKILL of a node mid-broadcast, recovery on", () => {
  let redis: RedisProcess;
  let nodes: GatewayProcess[];
  let bridge: BridgeProcess;
  let publisher: Redis;
  const clients: RecoveringClient[] = [];

  before(async () => {
    redis = await startRedis();
    const env = { RECOVERY_PATTERNS: "rooms:*", HISTORY_MAX_LENGTH: "1000" };
    nodes = await startGateways(2, { redisUrl: redis.url, env });
    bridge = await startBridge({ redisUrl: redis.url, env });
    await eventually(async () => (await bridge.status()).leader, "bridge leader", 10_000);
    publisher = new Redis(redis.url);
  });
  after(async () => {
    for (const client of clients) client.socket.disconnect();
    publisher?.disconnect();
    await bridge?.stop();
    for (const node of nodes ?? []) await node.stop();
    await redis?.stop();
  });

  test(`${CLIENTS} stock clients, half on the killed node, all get ${MESSAGES} messages exactly once and in order`, async () => {
    const [doomed, survivor] = nodes as [GatewayProcess, GatewayProcess];
    let killed = false;
    for (let index = 0; index < CLIENTS; index++) {
      // A load balancer in miniature: each (re)connect goes to the client's node while it lives, else to the survivor.
      const home = index % 2 === 0 ? doomed : survivor;
      const url = () => `${(killed && home === doomed ? survivor : home).wsUrl}/socket`;
      clients.push(new RecoveringClient(phoenix as unknown as PhoenixModule, url, TOPIC, "tick"));
    }
    await eventually(() => clients.every((client) => client.joinReplies.length === 1), "every client joined", 10_000);

    for (let n = 1; n <= MESSAGES; n++) {
      if (n === KILL_AT) {
        killed = true;
        doomed.kill("SIGKILL");
      }
      await publisher.publish(`to:${TOPIC}:tick`, JSON.stringify({ n }));
      await new Promise((resolve) => setTimeout(resolve, PUBLISH_EVERY_MS));
    }
    await eventually(() => clients.every((client) => client.received.length >= MESSAGES), "every client has every message", 15_000);
    await new Promise((resolve) => setTimeout(resolve, 300));

    const expected = Array.from({ length: MESSAGES }, (_, index) => index + 1);
    for (const [index, client] of clients.entries()) assert.deepEqual(client.numbers(), expected, `client ${index}`);
    const moved = clients.filter((_, index) => index % 2 === 0);
    for (const client of moved) {
      assert.equal(client.joinReplies.at(-1)?.response.recovered, true, "the rejoin on the survivor recovered");
    }
    assert.equal(survivor.child.exitCode, null);
  });
});
