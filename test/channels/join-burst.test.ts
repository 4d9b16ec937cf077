import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { issueToken } from "@switchboard/auth";
import { JOINS_PER_TURN } from "@switchboard/channels";
import { startGateway, TEST_SECRET, type GatewayProcess } from "../support/gateway.ts";
import { RawClient } from "../support/raw-client.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";

/** Enough sockets that one burst holds several turns' worth of joins (two joins each). */
const SOCKETS = 4 * JOINS_PER_TURN;
const OPEN_AT_ONCE = 50;
const ANSWER_WITHIN_MS = 20_000;

let redis: RedisProcess;
let gateway: GatewayProcess;
const clients: RawClient[] = [];

before(async () => {
  redis = await startRedis();
  gateway = await startGateway({ redisUrl: redis.url });
  for (let i = 0; i < SOCKETS; i += OPEN_AT_ONCE) {
    const opened = await Promise.all(Array.from({ length: Math.min(OPEN_AT_ONCE, SOCKETS - i) }, () => RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=2.0.0`)));
    clients.push(...opened);
  }
});

after(async () => {
  for (const client of clients) client.close();
  await gateway?.stop("SIGKILL");
  await redis?.stop();
});

type Reply = [string | null, string | null, string, string, { status: string; response: unknown }];

/** The client's phx_replies, in the order they came, once `count` of them came. */
async function replies(client: RawClient, count: number): Promise<Reply[]> {
  const found: Reply[] = [];
  while (found.length < count) {
    const frame = JSON.parse(await client.nextText(ANSWER_WITHIN_MS)) as Reply;
    if (frame[3] === "phx_reply") found.push(frame);
  }
  return found;
}

test(`a burst of ${SOCKETS * 2} joins from ${SOCKETS} sockets at once: every join answered, a push behind its join answered after it`, async () => {
  // Every frame is sent before any answer is read: the node reads them as one burst.
  for (const [i, client] of clients.entries()) {
    const topic = `burst:${i}`;
    client.send(["1", "1", topic, "phx_join", { token: issueToken({ id: `user-${i}`, channel: topic, ttlSeconds: 600, secret: TEST_SECRET }) }]);
    client.send(["2", "2", `rooms:burst-${i}`, "phx_join", { user: `user-${i}` }]);
    client.send(["2", "3", `rooms:burst-${i}`, "echo", { i }]);
  }
  const answered = await Promise.all(clients.map((client) => replies(client, 3)));
  for (const [i, frames] of answered.entries()) {
    assert.deepEqual(
      frames.map(([joinRef, ref, topic, , { status }]) => [joinRef, ref, topic, status]),
      [
        ["1", "1", `burst:${i}`, "ok"],
        ["2", "2", `rooms:burst-${i}`, "ok"],
        ["2", "3", `rooms:burst-${i}`, "ok"],
      ],
      `socket ${i}`,
    );
    assert.deepEqual(frames[2]![4].response, { i });
  }
});
