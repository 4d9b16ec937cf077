import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as phoenix18 from "phoenix";
import * as phoenix17 from "phoenix17";
import { isHistoryId } from "@switchboard/history";
import { eventually, startGateway, type GatewayProcess } from "../support/gateway.ts";
import { RawClient } from "../support/raw-client.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { RecoveringClient, type PhoenixModule } from "./recovery-client.ts";

const TOPIC_PREFIX = "rooms:recover";

type Frame = [string | null, string | null, string, string, Record<string, unknown>];

/** Joins `topic` on a raw V2 socket and returns it with the join reply. */
async function rawJoin(gateway: GatewayProcess, topic: string, params: Record<string, unknown>): Promise<{ client: RawClient; reply: Frame }> {
  const client = await RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=2.0.0`);
  client.send(["1", "1", topic, "phx_join", params]);
  for (;;) {
    const frame = JSON.parse(await client.nextText()) as Frame;
    if (frame[3] === "phx_reply" && frame[1] === "1") return { client, reply: frame };
  }
}

describe("missed-message recovery", () => {
  let redis: RedisProcess;
  let gateway: GatewayProcess;
  let publisher: RawClient;
  let pushRef = 0;

  before(async () => {
    redis = await startRedis();
    gateway = await startGateway({ redisUrl: redis.url, env: { RECOVERY_PATTERNS: `${TOPIC_PREFIX}:*`, HISTORY_MAX_LENGTH: "100", PUSH_RATE_PER_SECOND: "10000" } });
  });
  after(async () => {
    publisher?.ws.terminate();
    await gateway?.stop();
    await redis?.stop();
  });

  /** `new_msg` pushes on the example rooms channel: the gateway records and broadcasts each. */
  const publish = async (topic: string, from: number, to: number) => {
    for (let n = from; n <= to; n++) publisher.send(["1", `m${++pushRef}`, topic, "new_msg", { n }]);
  };

  for (const [label, module] of [["phoenix 1.8", phoenix18], ["phoenix 1.7", phoenix17]] as const) {
    test(`${label}: messages published while the client was away arrive after its rejoin, exactly once, in order`, async () => {
      const topic = `${TOPIC_PREFIX}:${label.replace(/\W/g, "")}`;
      publisher?.ws.terminate();
      publisher = (await rawJoin(gateway, topic, {})).client;
      const client = new RecoveringClient(module as unknown as PhoenixModule, `${gateway.wsUrl}/socket`, topic, "new_msg");
      await eventually(() => client.joinReplies.length === 1, "first join");
      assert.equal(client.joinReplies[0]!.status, "ok");
      assert.equal(client.joinReplies[0]!.response.recovered, undefined, "a first join asks for nothing");

      await publish(topic, 1, 20);
      await eventually(() => client.received.length === 20, "live messages");
      assert.ok(client.received.every((message) => isHistoryId(message.ref)), "every live broadcast carries its history id as ref");
      assert.equal(client.tracker.lastSeen(), client.received.at(-1)!.ref);

      client.socket.disconnect();
      await eventually(() => !client.socket.isConnected(), "client disconnected");
      await publish(topic, 21, 60);
      client.socket.connect();
      // Live messages keep coming while the client rejoins: none may overtake or repeat a replayed one.
      await publish(topic, 61, 100);
      await eventually(() => client.received.length >= 100, `all 100 messages (has ${client.received.length})`, 5_000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(client.numbers(), Array.from({ length: 100 }, (_, index) => index + 1));
      assert.equal(client.joinReplies.length, 2);
      assert.equal(client.joinReplies[1]!.response.recovered, true);
      client.socket.disconnect();
    });
  }

  test("a gap history no longer holds is answered recovered: false, and live messages follow", async () => {
    const topic = `${TOPIC_PREFIX}:gap`;
    publisher?.ws.terminate();
    publisher = (await rawJoin(gateway, topic, {})).client;
    const tooOld = await rawJoin(gateway, topic, { last_seen: "1-0" });
    assert.deepEqual(tooOld.reply[4], { response: { joined: topic, recovered: false }, status: "ok" });
    const garbage = await rawJoin(gateway, topic, { last_seen: "not an id" });
    assert.equal((garbage.reply[4].response as Record<string, unknown>).recovered, false);

    // Past HISTORY_MAX_LENGTH (100), the oldest ids are trimmed: a client that saw only the first one has a gap.
    await publish(topic, 1, 1);
    let first: string | null = null;
    while (first === null) {
      const frame = JSON.parse(await tooOld.client.nextText()) as Frame;
      if (frame[3] === "new_msg") first = frame[1];
    }
    await publish(topic, 2, 400);
    for (;;) {
      const frame = JSON.parse(await tooOld.client.nextText()) as Frame;
      if (frame[3] === "new_msg" && (frame[4] as { n: number }).n === 400) break;
    }
    const late = await rawJoin(gateway, topic, { last_seen: first });
    assert.equal((late.reply[4].response as Record<string, unknown>).recovered, false);
    await publish(topic, 401, 401);
    for (;;) {
      const frame = JSON.parse(await late.client.nextText()) as Frame;
      if (frame[3] !== "new_msg") continue;
      assert.deepEqual(frame[4], { n: 401 }, "nothing replayed, live follows");
      break;
    }
    for (const client of [tooOld.client, garbage.client, late.client]) client.ws.terminate();
  });

  test("topics outside RECOVERY_PATTERNS broadcast as before: no ref, last_seen ignored", async () => {
    const topic = "rooms:plain";
    const { client, reply } = await rawJoin(gateway, topic, { last_seen: "1-0" });
    assert.deepEqual(reply[4], { response: { joined: topic }, status: "ok" });
    client.send(["1", "p1", topic, "new_msg", { n: 1 }]);
    for (;;) {
      const frame = JSON.parse(await client.nextText()) as Frame;
      if (frame[3] !== "new_msg") continue;
      assert.deepEqual(frame, [null, null, topic, "new_msg", { n: 1 }]);
      break;
    }
    client.ws.terminate();
  });
});
