import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import * as phoenixModule from "phoenix";
import { EngineIOTransport } from "@switchboard/transport/engineio-client";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { eventually, startGateways, type GatewayProcess } from "../support/gateway.ts";
import { pushResult, type PhoenixModule } from "../clients/scenario.ts";

/**
 * Apps that want engine.io's polling → WebSocket upgrade use phoenix.js with EngineIOTransport;
 * they must share topics with stock clients on other nodes. engine.io's own polling phase is not
 * relayed between nodes: it needs affinity until the upgrade, and a poll on another node gets
 * engine.io's "Session ID unknown" — asserted here so the documented limit stays true.
 */
const phoenix = phoenixModule as unknown as PhoenixModule;

describe("engine.io clients across nodes", () => {
  let redis: RedisProcess;
  let nodes: GatewayProcess[];
  const sockets: Array<{ disconnect(): void }> = [];

  before(async () => {
    redis = await startRedis();
    nodes = await startGateways(2, { redisUrl: redis.url, nodeId: "eio" });
  });
  after(async () => {
    for (const socket of sockets) socket.disconnect();
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.stop();
  });

  test("an EngineIOTransport client on one node and a stock WebSocket client on another share a room", async () => {
    const created: EngineIOTransport[] = [];
    class Tracked extends EngineIOTransport {
      constructor(endPoint: string, protocols?: string[]) {
        super(endPoint, protocols);
        created.push(this);
      }
    }
    const eio = new phoenix.Socket(`${nodes[0]!.wsUrl}/socket`, { transport: Tracked });
    const ws = new phoenix.Socket(`${nodes[1]!.wsUrl}/socket`, { transport: WebSocket });
    sockets.push(eio, ws);
    eio.connect();
    ws.connect();
    const a = eio.channel("rooms:eio", { user: "engine" });
    const b = ws.channel("rooms:eio", { user: "stock" });
    const gotA: unknown[] = [];
    const gotB: unknown[] = [];
    a.on("new_msg", (payload) => gotA.push(payload));
    b.on("new_msg", (payload) => gotB.push(payload));
    assert.equal((await pushResult(a.join())).status, "ok");
    assert.equal((await pushResult(b.join())).status, "ok");

    assert.deepEqual(await pushResult(a.push("new_msg", { from: "engine" })), { status: "ok", response: { sent: true } });
    assert.deepEqual(await pushResult(b.push("new_msg", { from: "stock" })), { status: "ok", response: { sent: true } });
    await eventually(() => gotA.length === 2 && gotB.length === 2, "both messages reached both clients across nodes");
    // Order is guaranteed per publisher only: "stock" can reach its own node before "engine" arrives from the other.
    const byAuthor = (got: unknown[]) => got.map((payload) => (payload as { from: string }).from).sort();
    assert.deepEqual(byAuthor(gotA), ["engine", "stock"]);
    assert.deepEqual(byAuthor(gotB), ["engine", "stock"]);

    await eventually(() => created.at(-1)?.engine.transport.name === "websocket", "the engine.io client upgraded to WebSocket", 10_000);
    assert.deepEqual(await pushResult(a.push("echo", { upgraded: true })), { status: "ok", response: { upgraded: true } });
  });

  test("engine.io polling is not relayed: a poll on another node gets engine.io's Session ID unknown", async () => {
    const handshake = await fetch(`${nodes[0]!.url}/socket/engine.io/?EIO=4&transport=polling&vsn=2.0.0`);
    assert.equal(handshake.status, 200);
    const open = JSON.parse((await handshake.text()).slice(1)) as { sid: string };
    const elsewhere = await fetch(`${nodes[1]!.url}/socket/engine.io/?EIO=4&transport=polling&vsn=2.0.0&sid=${open.sid}`);
    assert.equal(elsewhere.status, 400);
    assert.match(await elsewhere.text(), /Session ID unknown/);
  });
});
