import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { startGateway, type GatewayProcess } from "../support/gateway.ts";
import { RawClient } from "../support/raw-client.ts";

/** Each kind of bad input gets its defined answer, and the node keeps serving everyone else. */
describe("bad input", () => {
  let redis: RedisProcess;
  let gateway: GatewayProcess;
  let bystander: RawClient;

  before(async () => {
    redis = await startRedis();
    gateway = await startGateway({
      redisUrl: redis.url,
      env: { MAX_FRAME_BYTES: "65536", MAX_CHANNELS_PER_SOCKET: "100", ALLOWED_ORIGINS: "https://app.example" },
    });
    bystander = await RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=2.0.0`);
    bystander.send(["1", "1", "rooms:bystander", "phx_join", { user: "b" }]);
    await bystander.next();
    await bystander.next();
    await bystander.next();
  });
  after(async () => {
    bystander?.ws.terminate();
    // The node must have survived all of it.
    assert.equal(gateway.child.exitCode, null, gateway.output());
    await gateway?.stop();
    await redis?.stop();
  });

  const open = (query = "vsn=2.0.0") => RawClient.connect(`${gateway.wsUrl}/socket/websocket?${query}`);
  const closeCode = async (client: RawClient) => {
    for (;;) {
      const frame = await client.next(3_000);
      if ("close" in frame) return frame.close.code;
    }
  };
  const bystanderAlive = async () => {
    const ref = String(Math.random());
    bystander.send([null, ref, "phoenix", "heartbeat", {}]);
    assert.equal(await bystander.nextText(), `[null,"${ref}","phoenix","phx_reply",{"response":{},"status":"ok"}]`);
  };

  const malformed: Array<[string, string | Buffer, string?]> = [
    ["not JSON", "{not json"],
    ["JSON but not an array", '{"topic":"x","event":"y","payload":{},"ref":"1"}'],
    ["array of the wrong arity", '["1","1","rooms:lobby"]'],
    ["a number for a ref", '[null,1,"phoenix","heartbeat",{}]'],
    ["empty text frame", ""],
    ["truncated binary push", Buffer.from("00010b0431726f6f6d733a6c6f6262796563686f78", "hex")],
    ["binary kind the client may not send (broadcast)", Buffer.from("020b07726f6f6d733a6c6f6262796e65775f6d7367", "hex")],
    ["a single byte", Buffer.from([0])],
    ["V1 object sent as an array", '[null,"1","phoenix","heartbeat",{}]', "vsn=1.0.0"],
    ["binary frame on V1", Buffer.from([0, 1, 2]), "vsn=1.0.0"],
  ];
  for (const [name, frame, query] of malformed) {
    test(`malformed frame (${name}) closes that socket with 1011`, async () => {
      const client = await open(query);
      client.send(frame);
      assert.equal(await closeCode(client), 1011);
      await bystanderAlive();
    });
  }

  test("an oversized frame closes with 1009", async () => {
    const client = await open();
    client.send(JSON.stringify(["1", "1", "rooms:big", "echo", { blob: "x".repeat(70_000) }]));
    assert.equal(await closeCode(client), 1009);
    await bystanderAlive();
  });

  test("the 101st channel is refused with a reason, the first 100 keep working", async () => {
    const client = await open();
    for (let i = 1; i <= 101; i++) client.send([String(i), String(i), `rooms:c${i}`, "phx_join", {}]);
    const replies = new Map<string, unknown[]>();
    while (replies.size < 101) {
      const frame = JSON.parse(await client.nextText()) as unknown[];
      if (frame[3] === "phx_reply") replies.set(frame[2] as string, frame);
    }
    assert.deepEqual(replies.get("rooms:c101"), ["101", "101", "rooms:c101", "phx_reply", { response: { reason: "too many channels" }, status: "error" }]);
    assert.equal((replies.get("rooms:c100")![4] as { status: string }).status, "ok");
    client.close();
    await bystanderAlive();
  });

  test("an unknown vsn is refused with 403", async () => {
    await assert.rejects(open("vsn=9.9.9"), { status: 403 });
    await assert.rejects(open("vsn=banana"), { status: 403 });
  });

  test("a disallowed Origin is refused with 403; an allowed one and none are accepted", async () => {
    await assert.rejects(
      RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=2.0.0`, { origin: "https://evil.example" }),
      { status: 403 },
    );
    const allowed = await RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=2.0.0`, { origin: "https://app.example" });
    allowed.close();
    await bystanderAlive();
  });

  test("a topic or event longer than the limit gets an error reply, not a crash", async () => {
    const client = await open();
    client.send(["1", "1", `rooms:${"x".repeat(300)}`, "phx_join", {}]);
    const reply = JSON.parse(await client.nextText()) as [unknown, unknown, unknown, unknown, { response: { reason: string } }];
    assert.equal(reply[4].response.reason, "topic too long");
    client.close();
  });
});
