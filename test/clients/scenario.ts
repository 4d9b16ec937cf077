import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { eventually, startGateway, type GatewayProcess } from "../support/gateway.ts";

/**
 * The stock phoenix.js client, unchanged, against a real gateway process: the same scenario for
 * every (client version × transport). The client module is passed in so 1.7 and 1.8 run in
 * separate test processes (1.7's LongPoll needs a global XMLHttpRequest, which would change
 * how 1.8 polls).
 */
export interface PhoenixModule {
  Socket: new (endPoint: string, opts?: Record<string, unknown>) => PhxSocket;
  LongPoll: unknown;
  Presence: new (channel: PhxChannel) => PhxPresence;
}
interface PhxSocket {
  connect(): void;
  disconnect(callback?: () => void, code?: number): void;
  channel(topic: string, params?: Record<string, unknown> | (() => Record<string, unknown>)): PhxChannel;
  isConnected(): boolean;
  onOpen(callback: () => void): string;
  onClose(callback: (event: unknown) => void): string;
  onError(callback: (error: unknown) => void): string;
}
export interface PhxChannel {
  join(timeout?: number): PhxPush;
  leave(timeout?: number): PhxPush;
  push(event: string, payload: unknown, timeout?: number): PhxPush;
  on(event: string, callback: (payload: unknown) => void): number;
  state: string;
}
interface PhxPush {
  receive(status: string, callback: (response: unknown) => void): PhxPush;
}
interface PhxPresence {
  onSync(callback: () => void): void;
  list<T>(by?: (key: string, presence: { metas: Array<Record<string, unknown>> }) => T): T[];
}

export function pushResult(push: PhxPush): Promise<{ status: string; response: unknown }> {
  return new Promise((resolve) => {
    for (const status of ["ok", "error", "timeout"]) push.receive(status, (response) => resolve({ status, response }));
  });
}

const GATEWAY_ENV = { BRIDGE_PATTERNS: "bridge:*" };

export function runClientScenario(label: string, phoenix: PhoenixModule): void {
  for (const transport of ["websocket", "longpoll"] as const) {
    describe(`${label} over ${transport}`, () => {
      let redis: RedisProcess;
      let gateway: GatewayProcess;
      const sockets: PhxSocket[] = [];

      before(async () => {
        redis = await startRedis();
        // Topics outside rooms:* must stay unmatched for the refusal checks below.
        gateway = await startGateway({ redisUrl: redis.url, env: GATEWAY_ENV });
      });
      after(async () => {
        for (const socket of sockets) socket.disconnect();
        await gateway?.stop();
        await redis?.stop();
      });

      const connect = (params: Record<string, unknown> = {}) => {
        const socket = new phoenix.Socket(`${gateway.wsUrl}/socket`, {
          transport: transport === "websocket" ? WebSocket : phoenix.LongPoll,
          params,
          reconnectAfterMs: () => 100,
          rejoinAfterMs: () => 100,
          logger: undefined,
        });
        sockets.push(socket);
        socket.connect();
        return socket;
      };
      const joined = async (socket: PhxSocket, topic: string, params: Record<string, unknown>) => {
        const channel = socket.channel(topic, params);
        const result = await pushResult(channel.join());
        return { channel, result };
      };

      test("connect and join; refused join gets its reason; unmatched topic", async () => {
        const socket = connect({ token: "connect-param" });
        const { result } = await joined(socket, "rooms:lobby", { user: "alice" });
        assert.deepEqual(result, { status: "ok", response: { joined: "rooms:lobby" } });
        const denied = await joined(socket, "rooms:secret", { deny: true });
        assert.deepEqual(denied.result, { status: "error", response: { reason: "unauthorized" } });
        const unmatched = await joined(socket, "nomatch:x", {});
        assert.deepEqual(unmatched.result, { status: "error", response: { reason: "unmatched topic" } });
      });

      test("echo, broadcast, broadcast_from and presence between two clients", async () => {
        const a = connect();
        const b = connect();
        // Presence binds to the channel before the join, as apps do, so presence_state is not missed.
        const ca = a.channel("rooms:chat", { user: "ann" });
        const presenceA = new phoenix.Presence(ca);
        let usersSeenByA: string[] = [];
        presenceA.onSync(() => (usersSeenByA = presenceA.list((key) => key).sort()));
        assert.equal((await pushResult(ca.join())).status, "ok");
        const { channel: cb } = await joined(b, "rooms:chat", { user: "bob" });
        await eventually(() => usersSeenByA.join() === "ann,bob", `ann's Presence lists ann and bob (has ${usersSeenByA})`);

        assert.deepEqual(await pushResult(ca.push("echo", { n: 1, list: [1, null] })), {
          status: "ok",
          response: { n: 1, list: [1, null] },
        });

        const gotA: unknown[] = [];
        const gotB: unknown[] = [];
        ca.on("new_msg", (p) => gotA.push(["new_msg", p]));
        cb.on("new_msg", (p) => gotB.push(["new_msg", p]));
        ca.on("shout_from", (p) => gotA.push(["shout_from", p]));
        cb.on("shout_from", (p) => gotB.push(["shout_from", p]));
        assert.deepEqual(await pushResult(ca.push("new_msg", { body: "hi" })), { status: "ok", response: { sent: true } });
        await eventually(() => gotB.length === 1 && gotA.length === 1, "both got new_msg");
        ca.push("shout_from", { x: 1 });
        await eventually(() => gotB.length === 2, "bob got shout_from");
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.deepEqual(gotA, [["new_msg", { body: "hi" }]], "the sender of shout_from gets nothing");
        assert.deepEqual(gotB, [
          ["new_msg", { body: "hi" }],
          ["shout_from", { x: 1 }],
        ]);

        assert.equal((await pushResult(cb.leave())).status, "ok");
        await eventually(() => usersSeenByA.join() === "ann", `bob left ann's Presence (has ${usersSeenByA})`);
      });

      test("a crashed channel is rejoined by the client; other channels keep working", async () => {
        const socket = connect();
        const { channel: crashing } = await joined(socket, "rooms:crash", { user: "c" });
        const { channel: other } = await joined(socket, "rooms:other", { user: "c" });
        let errors = 0;
        crashing.on("phx_error", () => errors++);
        crashing.push("no_such_event", {});
        await eventually(() => errors === 1, "phx_error received");
        assert.deepEqual(await pushResult(other.push("echo", { still: "up" })), { status: "ok", response: { still: "up" } });
        await eventually(() => crashing.state === "joined", "the client rejoined the crashed channel", 5_000);
        assert.deepEqual(await pushResult(crashing.push("echo", { back: true })), { status: "ok", response: { back: true } });
      });

      test("reconnects and rejoins after the server drops the socket", async () => {
        const socket = connect();
        const { channel } = await joined(socket, "rooms:restart", { user: "r" });
        let opens = 0;
        socket.onOpen(() => opens++);
        gateway.kill("SIGKILL");
        await gateway.exited;
        gateway = await startGateway({ redisUrl: redis.url, port: gateway.port, nodeId: gateway.nodeId, env: GATEWAY_ENV });
        await eventually(() => opens >= 1 && channel.state === "joined", "socket reopened and channel rejoined", 10_000);
        assert.deepEqual(await pushResult(channel.push("echo", { after: "restart" })), {
          status: "ok",
          response: { after: "restart" },
        });
      });
    });
  }
}
