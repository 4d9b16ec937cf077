import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { issueToken } from "@switchboard/auth";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { eventually, startGateway, TEST_SECRET, type GatewayProcess } from "../support/gateway.ts";
import { startBridge, type BridgeProcess } from "../support/bridge.ts";
import { startPythonBackend, type PythonBackend } from "../backend/python-backend.ts";
import { pushResult } from "../clients/scenario.ts";
import { allStarted } from "./settle.ts";
import { StockClient, tokenFor } from "./stock-client.ts";

/**
 * tangram's Redis contract end to end: a Python plugin (redis-py, as tangram's users write them)
 * ↔ Redis ↔ bridge app + gateway ↔ the stock phoenix 1.8 client.
 */
const MAX_FORWARD = 1024;
const BINARY_FROM_BACKEND = Buffer.concat([Buffer.from([0x00, 0x01, 0xfe, 0xff]), Buffer.from("tangram")]);

describe("tangram bridge contract", () => {
  let redis: RedisProcess;
  let gateway: GatewayProcess;
  let bridge: BridgeProcess;
  let backend: PythonBackend;
  let spy: Redis;
  let publisher: Redis;
  const clients: StockClient[] = [];
  const fromMessages: Array<{ channel: string; data: Buffer }> = [];

  before(async () => {
    redis = await startRedis();
    await allStarted([
      startGateway({ redisUrl: redis.url, env: { MAX_FORWARD_PAYLOAD_BYTES: String(MAX_FORWARD), ENVELOPE_PATTERNS: "env:*" } }).then((g) => (gateway = g)),
      startBridge({ redisUrl: redis.url }).then((b) => (bridge = b)),
      startPythonBackend("tangram_backend.py", redis.url).then((p) => (backend = p)),
    ]);
    spy = new Redis(redis.url);
    publisher = new Redis(redis.url);
    spy.on("pmessageBuffer", (_pattern: Buffer, channel: Buffer, data: Buffer) => fromMessages.push({ channel: channel.toString(), data }));
    await spy.psubscribe("from:*");
    await eventually(async () => (await bridge.status()).leader, "the bridge holds the lease", 5_000);
  });
  after(async () => {
    for (const client of clients) client.disconnect();
    spy?.disconnect();
    publisher?.disconnect();
    await backend?.stop();
    await Promise.all([gateway?.stop(), bridge?.stop()]);
    await redis?.stop();
  });

  const client = (transport: "websocket" | "longpoll" = "websocket") => {
    const created = new StockClient(gateway.wsUrl, transport);
    clients.push(created);
    return created;
  };

  test("a push reaches the Python backend as the bare payload and its answer comes back on system", async () => {
    const token = tokenFor("system");
    const system = await client().joinOrThrow("system", { token }, ["pong"]);
    system.channel.push("ping", { n: 1, token, text: "héllo" });
    await eventually(() => system.of("pong").length === 1, "pong from the backend");
    // The join token the client echoed into its push is not forwarded; the rest is, unwrapped.
    assert.deepEqual(system.of("pong"), [{ echo: { n: 1, text: "héllo" } }]);
    const published = fromMessages.find((m) => m.channel === "from:system:ping");
    assert.deepEqual(JSON.parse(published!.data.toString()), { n: 1, text: "héllo" });
    assert.ok(!fromMessages.some((m) => m.data.includes(token)), "no token in any from: message");
    assert.ok(!fromMessages.some((m) => /phx_join|phx_leave|heartbeat/.test(m.channel)), "no lifecycle events forwarded");
  });

  test("nested topic a:b:c: last-colon split both ways, JSON and binary payloads", async () => {
    const nested = await client().joinOrThrow("a:b:c", { token: tokenFor("a:*") }, ["pong", "bytes", "uploaded"]);
    nested.channel.push("ping", [1, "two"]);
    nested.channel.push("bytes", {});
    const upload = new Uint8Array([0xde, 0xad, 0x00, 0xbe, 0xef]);
    nested.channel.push("upload", upload.buffer);
    await eventually(() => nested.of("pong").length === 1 && nested.of("bytes").length === 1 && nested.of("uploaded").length === 1, "three answers");
    assert.deepEqual(nested.of("pong"), [{ echo: [1, "two"] }]);
    const bytes = nested.of("bytes")[0];
    assert.ok(bytes instanceof ArrayBuffer, `binary push arrives as an ArrayBuffer (got ${typeof bytes})`);
    assert.deepEqual(Buffer.from(bytes), BINARY_FROM_BACKEND);
    assert.deepEqual(nested.of("uploaded"), [{ hex: "dead00beef" }], "the backend got the raw bytes of the binary push");
    assert.ok(fromMessages.some((m) => m.channel === "from:a:b:c:upload"));
  });

  test("over LongPoll, where frames are text, a binary push arrives as {binary: base64}", async () => {
    const polled = await client("longpoll").joinOrThrow("a:b:c", { token: tokenFor("a:*") }, ["bytes"]);
    polled.channel.push("bytes", {});
    await eventually(() => polled.of("bytes").length === 1, "bytes over LongPoll", 5_000);
    assert.deepEqual(polled.of("bytes"), [{ binary: BINARY_FROM_BACKEND.toString("base64") }]);
  });

  test("a backend message with invalid JSON after a brace arrives as binary, untouched", async () => {
    const topic = await client().joinOrThrow("raw:1", { token: tokenFor("raw:*") }, ["note"]);
    await publisher.publish("to:raw:1:note", "{broken");
    await publisher.publish("to:raw:1:note", '{"fine":true}');
    await eventually(() => topic.of("note").length === 2, "both notes");
    const [broken, fine] = topic.of("note");
    assert.deepEqual(Buffer.from(broken as ArrayBuffer).toString(), "{broken");
    assert.deepEqual(fine, { fine: true });
  });

  test("joins are refused with the reason: no token, bad signature, expired, alg none, other channel", async () => {
    const c = client();
    const now = Date.now();
    const header = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
    const claims = Buffer.from(JSON.stringify({ id: "mallory", channel: "*", exp: Math.floor(now / 1000) + 600 })).toString("base64url");
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ["no token", {}, "token_missing"],
      ["bad signature", { token: issueToken({ id: "u", channel: "secure:x", ttlSeconds: 600, secret: "not-the-secret" }) }, "token_invalid"],
      ["expired", { token: issueToken({ id: "u", channel: "secure:x", ttlSeconds: 60, secret: TEST_SECRET, now: () => now - 3_600_000 }) }, "token_expired"],
      ["alg none", { token: `${header}.${claims}.` }, "token_algorithm_refused"],
      ["other channel", { token: tokenFor("secure:y") }, "token_channel_mismatch"],
      ["garbage", { token: "not.a.jwt" }, "token_malformed"],
    ];
    for (const [label, params, reason] of cases) {
      const result = await c.join("secure:x", params);
      assert.deepEqual({ label, status: result.status, response: result.response }, { label, status: "error", response: { reason } });
    }
    for (const claim of ["secure:x", "secure:*", ["other", "secure:*"], "*"]) {
      const result = await c.join("secure:x", { token: tokenFor(claim) });
      assert.equal(result.status, "ok", `claim ${JSON.stringify(claim)} allows secure:x`);
      result.joined.channel.leave();
    }
  });

  test("presence tracks bridge members under the token's id", async () => {
    const a = await client().joinOrThrow("meet:1", { token: tokenFor("meet:*", "ann") }, ["presence_state", "presence_diff"]);
    await client().joinOrThrow("meet:1", { token: tokenFor("meet:*", "bob") });
    await eventually(
      () => a.of("presence_diff").some((diff) => Object.keys((diff as { joins: object }).joins).includes("bob")),
      "ann sees bob join",
    );
    assert.deepEqual(Object.keys(a.of("presence_state")[0] as object), ["ann"]);
  });

  test("a push over the forward limit gets an error reply and is not published", async () => {
    const big = await client().joinOrThrow("big:1", { token: tokenFor("big:1") });
    const before = fromMessages.length;
    const result = await pushResult(big.channel.push("ping", { blob: "x".repeat(MAX_FORWARD) }, 3_000));
    assert.deepEqual(result, { status: "error", response: { reason: "payload too large", limit: MAX_FORWARD } });
    const small = await pushResult(big.channel.push("ping", { blob: "ok" }, 500));
    assert.equal(small.status, "timeout", "a tangram push gets no reply of the gateway's own");
    assert.deepEqual(fromMessages.slice(before).map((m) => m.channel), ["from:big:1:ping"]);
  });

  test("envelope mode: a reply:<topic> addressed to socket/ref/join_ref fires receive('ok') on the pushing client only", async () => {
    const asker = await client().joinOrThrow("env:room", { token: tokenFor("env:*", "asker") }, ["reply"]);
    const bystander = await client().joinOrThrow("env:room", { token: tokenFor("env:*", "bystander") }, ["reply", "note"]);
    const push = asker.channel.push("note", { q: 1 }, 3_000);
    const answered = pushResult(push);
    await eventually(() => fromMessages.some((m) => m.channel === "from:env:room:note"), "the envelope is published");
    const envelope = JSON.parse(fromMessages.find((m) => m.channel === "from:env:room:note")!.data.toString());
    assert.deepEqual(Object.keys(envelope).sort(), ["event", "join_ref", "node", "payload", "ref", "socket", "topic", "user"]);
    assert.deepEqual(
      { payload: envelope.payload, topic: envelope.topic, event: envelope.event, user: envelope.user, node: envelope.node },
      { payload: { q: 1 }, topic: "env:room", event: "note", user: "asker", node: gateway.nodeId },
    );
    // The envelope carries the client's own ref for the push: the one its receive() waits for.
    const ref = (push as unknown as { ref: string }).ref;
    assert.equal(envelope.ref, ref);
    await publisher.publish("reply:env:room", JSON.stringify({ socket: envelope.socket, ref, join_ref: envelope.join_ref, response: { a: 2 } }));
    assert.deepEqual(await answered, { status: "ok", response: { a: 2 } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(bystander.received, [], "the other member of the topic saw neither the push nor the reply");
  });

  test(
    "envelope mode: the Python backend answers a push from its envelope alone",
    async () => {
      const asker = await client().joinOrThrow("env:ask", { token: tokenFor("env:*", "asker") });
      const result = await pushResult(asker.channel.push("ask", { q: 42 }, 1_000));
      assert.deepEqual(result, { status: "ok", response: { answer: { q: 42 }, user: "asker" } });
    },
  );
});
