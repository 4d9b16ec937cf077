import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { CloseCode, decodeServerFrame, serializerForVsn } from "@switchboard/protocol";
import type { Frame } from "@switchboard/protocol";
import { startGateway, type GatewayProcess } from "../support/gateway.ts";
import { RawClient, type RawFrame } from "../support/raw-client.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { assertNodeSurvived } from "./node-health.ts";

/** Each run opens one socket: enough cases to reach every decode branch, a few seconds in all. */
const RUNS = 100;
const ANSWER_TIMEOUT_MS = 3_000;
const TOPICS = ["phoenix", "rooms:fuzz", "rooms:", "admin", "system", "fuzz:topic", ""];
const EVENTS = ["phx_join", "phx_leave", "heartbeat", "new_msg", "typing", "phx_reply", ""];

const jsonValue = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.double(), fc.string({ unit: "grapheme" }), fc.constantFrom(...TOPICS, ...EVENTS));
const ref = fc.oneof(fc.constant(null), fc.nat({ max: 50 }).map(String), fc.integer(), fc.string({ maxLength: 4 }));
const payload = fc.oneof(jsonValue, fc.dictionary(fc.string({ maxLength: 8 }), jsonValue, { maxKeys: 4 }), fc.array(jsonValue, { maxLength: 4 }));

/** Frames shaped like Phoenix V2 arrays with random members: most decode, many are refused. */
const phoenixLikeArray = fc
  .tuple(ref, ref, fc.oneof(fc.constantFrom(...TOPICS), fc.string()), fc.oneof(fc.constantFrom(...EVENTS), fc.string()), payload)
  .chain((frame) => fc.subarray(frame, { minLength: 3 }).map((members) => (members.length === 5 ? frame : members)))
  .map((members) => JSON.stringify(members));

/** A V2 binary push header (kind 0) with lengths that may or may not match the bytes after them. */
const binaryPushLike = fc
  .tuple(fc.nat({ max: 4 }), fc.nat({ max: 4 }), fc.nat({ max: 20 }), fc.nat({ max: 12 }), fc.uint8Array({ maxLength: 60 }))
  .map(([joinRef, pushRef, topic, event, rest]) => Buffer.concat([Buffer.from([0, joinRef, pushRef, topic, event]), Buffer.from(rest)]));

const randomFrame: fc.Arbitrary<Frame> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.json({ maxDepth: 3 }),
  phoenixLikeArray,
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  binaryPushLike,
);

/** Reads frames until the heartbeat reply with `ref` or a close; every frame seen on the way must be a valid server frame. */
async function answerTo(client: RawClient, heartbeatRef: string): Promise<{ close?: number }> {
  for (;;) {
    const frame: RawFrame = await client.next(ANSWER_TIMEOUT_MS);
    if ("close" in frame) return { close: frame.close.code };
    const raw = "text" in frame ? frame.text : frame.binary;
    const decoded = decodeServerFrame(raw);
    assert.ok(decoded.ok, `server sent an undecodable frame: ${String(raw)}`);
    if (decoded.frame.kind !== "reply") continue;
    const { reply } = decoded.frame;
    if (reply.status === "error") {
      const response = reply.response as { reason?: unknown };
      assert.equal(typeof response.reason, "string", `error reply without a reason: ${String(raw)}`);
    }
    if (reply.ref === heartbeatRef && reply.topic === "phoenix") return {};
  }
}

describe("fuzz: random frames on a live WebSocket", () => {
  let redis: RedisProcess;
  let gateway: GatewayProcess;

  before(async () => {
    redis = await startRedis();
    gateway = await startGateway({ redisUrl: redis.url, env: { MAX_FRAME_BYTES: "4096" } });
  });
  after(async () => {
    await gateway?.stop();
    await redis?.stop();
  });

  for (const vsn of ["2.0.0", "1.0.0"] as const) {
    test(`vsn ${vsn}: undecodable frames close with 1011, every other frame leaves the socket serving`, async () => {
      const oracle = serializerForVsn(vsn)!;
      let heartbeat = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(randomFrame, { minLength: 1, maxLength: 3 }), async (frames) => {
          const client = await RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=${vsn}`);
          try {
            const firstBad = frames.findIndex((frame) => !oracle.decode(frame).ok);
            for (const frame of frames) client.send(frame);
            const heartbeatRef = `hb${++heartbeat}`;
            client.send(vsn === "1.0.0" ? JSON.stringify({ topic: "phoenix", event: "heartbeat", payload: {}, ref: heartbeatRef }) : [null, heartbeatRef, "phoenix", "heartbeat", {}]);
            const answer = await answerTo(client, heartbeatRef);
            if (firstBad === -1) assert.equal(answer.close, undefined, `a decodable batch closed the socket: ${JSON.stringify(frames)}`);
            else assert.equal(answer.close, CloseCode.MALFORMED_FRAME, `undecodable frame ${String(frames[firstBad])}`);
          } finally {
            client.ws.terminate();
          }
        }),
        { numRuns: RUNS },
      );
    });
  }

  test("a frame over MAX_FRAME_BYTES closes with 1009", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 4097, max: 20_000 }), fc.boolean(), async (size, binary) => {
        const client = await RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=2.0.0`);
        try {
          client.send(binary ? Buffer.alloc(size, 7) : "x".repeat(size));
          const answer = await answerTo(client, "never");
          assert.equal(answer.close, CloseCode.MESSAGE_TOO_BIG);
        } finally {
          client.ws.terminate();
        }
      }),
      { numRuns: 10 },
    );
  });

  test("the node survived, answers /healthz and holds no channel of the closed sockets", async () => {
    await assertNodeSurvived(gateway);
  });
});
