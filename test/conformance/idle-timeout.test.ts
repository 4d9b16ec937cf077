import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import * as phoenix from "phoenix";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { eventually, startGateway, type GatewayProcess } from "../support/gateway.ts";
import { RawClient } from "../support/raw-client.ts";

/**
 * The transcript's idle case: a joined socket that sends nothing is closed with 1002 after the
 * websocket timeout (60 s in production; shortened here), and the stock client reconnects.
 */
describe("idle timeout", () => {
  let redis: RedisProcess;
  let gateway: GatewayProcess;
  before(async () => {
    redis = await startRedis();
    gateway = await startGateway({ redisUrl: redis.url, env: { IDLE_TIMEOUT_MS: "1200" } });
  });
  after(async () => {
    await gateway?.stop();
    await redis?.stop();
  });

  test("a silent socket is closed with 1002; one that heartbeats stays open", async () => {
    const silent = await RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=2.0.0`);
    const chatty = await RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=2.0.0`);
    silent.send(["1", "1", "rooms:idle", "phx_join", {}]);
    const started = Date.now();
    const beat = setInterval(() => chatty.send([null, "hb", "phoenix", "heartbeat", {}]), 200);
    try {
      for (;;) {
        const frame = await silent.next(4_000);
        if ("close" in frame) {
          assert.equal(frame.close.code, 1002);
          break;
        }
      }
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 1_100 && elapsed < 3_000, `closed after ${elapsed} ms`);
      assert.ok(!chatty.frames.some((frame) => "close" in frame), "the heartbeating socket stays open");
    } finally {
      clearInterval(beat);
      chatty.close();
    }
  });

  test("the stock client reconnects after an idle close", async () => {
    // Heartbeats slower than the idle timeout make the server close the socket.
    const socket = new phoenix.Socket(`${gateway.wsUrl}/socket`, {
      transport: WebSocket,
      heartbeatIntervalMs: 60_000,
      reconnectAfterMs: () => 50,
    });
    let opens = 0;
    let closes = 0;
    socket.onOpen(() => opens++);
    socket.onClose(() => closes++);
    socket.connect();
    try {
      await eventually(() => opens >= 2 && closes >= 1, "closed for idleness, then reopened", 8_000);
    } finally {
      socket.disconnect();
    }
  });
});
