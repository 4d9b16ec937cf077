import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import XMLHttpRequest from "xhr2";
import * as phoenix18 from "phoenix";
import { startRoundRobinProxy, type RoundRobinProxy } from "../../tools/dev/proxy.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { eventually, startGateways, type GatewayProcess } from "../support/gateway.ts";
import { pushResult, type PhoenixModule, type PhxChannel } from "../clients/scenario.ts";

/**
 * Sticky-free LongPoll through real gateway processes: three nodes behind a round-robin proxy
 * that sends every HTTP request to the next node, so nearly every poll and post of a session lands
 * on a node that does not own it and is relayed through Redis. Stock phoenix 1.8 and 1.7 clients
 * must see exactly what a WebSocket client sees; killing the owner gives a new session and a rejoin.
 */
Object.assign(globalThis, { self: globalThis });
const phoenix17 = (await import("phoenix17")) as PhoenixModule;

describe("LongPoll across three nodes behind a round-robin proxy", () => {
  let redis: RedisProcess;
  let nodes: GatewayProcess[];
  let proxy: RoundRobinProxy;
  const sockets: Array<{ disconnect(): void }> = [];

  before(async () => {
    redis = await startRedis();
    nodes = await startGateways(3, { redisUrl: redis.url, nodeId: "lp", env: { LONGPOLL_WINDOW_MS: "2000" } });
    proxy = await startRoundRobinProxy({ targets: nodes.map((node) => ({ host: "127.0.0.1", port: node.port })) });
  });
  after(async () => {
    for (const socket of sockets) socket.disconnect();
    await proxy?.close();
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.stop();
  });

  const clients: Array<[string, PhoenixModule, Record<string, unknown>]> = [
    ["phoenix 1.8", phoenix18 as unknown as PhoenixModule, {}],
    // 1.7 only knows XMLHttpRequest; handing it xhr2 here keeps 1.8 on fetch.
    ["phoenix 1.7", phoenix17, { xhr: true }],
  ];

  for (const [label, phoenix, options] of clients) {
    test(`${label}: join, push/reply, broadcast and presence, every request on another node`, async () => {
      // From here on phoenix 1.8 would use xhr2 as well, which is fine: it is 1.7 that needs it.
      if (options.xhr) Object.assign(globalThis, { XMLHttpRequest });
      {
        const open = (user: string) => {
          const socket = new phoenix.Socket(`${proxy.url.replace("http", "ws")}/socket`, {
            transport: phoenix.LongPoll,
            reconnectAfterMs: () => 100,
            rejoinAfterMs: () => 200,
          });
          sockets.push(socket);
          socket.connect();
          const channel = socket.channel("rooms:lp", { user });
          const presence = new phoenix.Presence(channel);
          let users: string[] = [];
          presence.onSync(() => (users = presence.list((key) => key).sort()));
          const received: unknown[] = [];
          channel.on("new_msg", (payload) => received.push(payload));
          return { channel, received, users: () => users };
        };
        const routedBefore = proxy.routed().reduce((a, b) => a + b, 0);
        const a = open(`${label}-a`);
        const b = open(`${label}-b`);
        assert.equal((await pushResult(a.channel.join())).status, "ok");
        assert.equal((await pushResult(b.channel.join())).status, "ok");
        assert.deepEqual(await pushResult(a.channel.push("echo", { lp: true })), { status: "ok", response: { lp: true } });
        assert.deepEqual(await pushResult(b.channel.push("new_msg", { body: "hi" })), { status: "ok", response: { sent: true } });
        await eventually(() => a.received.length === 1 && b.received.length === 1, "both got the broadcast", 10_000);
        await eventually(() => a.users().includes(`${label}-b`) && b.users().includes(`${label}-a`), "each sees the other in presence", 10_000);
        const spread = proxy.routed();
        assert.ok(spread.reduce((x, y) => x + y, 0) - routedBefore > 6, "many requests went through the proxy");
        assert.ok(spread.every((count) => count > 0), `every node served requests: ${spread}`);
        b.channel.leave();
      }
    });
  }

  test("the session owner is SIGKILLed: the client gets a new session and rejoins", async () => {
    const socket = new (phoenix18 as unknown as PhoenixModule).Socket(`${proxy.url.replace("http", "ws")}/socket`, {
      transport: (phoenix18 as unknown as PhoenixModule).LongPoll,
      reconnectAfterMs: () => 100,
      rejoinAfterMs: () => 200,
    });
    sockets.push(socket);
    socket.connect();
    const channel: PhxChannel = socket.channel("rooms:lp-kill", { user: "k" });
    assert.equal((await pushResult(channel.join())).status, "ok");
    // The session token names its owner: `1.<base64url node id>.<sid>...`.
    const token = (socket as unknown as { conn: { token?: string } }).conn.token ?? "";
    const ownerId = Buffer.from(token.split(".")[1] ?? "", "base64url").toString();
    const owner = nodes.find((node) => node.nodeId === ownerId);
    assert.ok(owner, `the session token names one of the nodes: ${token}`);
    owner.kill("SIGKILL");
    await owner.exited;
    await eventually(async () => (await pushResult(channel.push("echo", { back: true }, 1_000))).status === "ok", "rejoined on a surviving node", 15_000);
    for (const node of nodes.filter((n) => n !== owner)) assert.equal(node.child.exitCode, null, node.output());
  });
});
