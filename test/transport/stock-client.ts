import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import type { Connection } from "@switchboard/transport";
import { startHarness, within } from "./harness.ts";
import type { Harness } from "./harness.ts";

/** The small part of phoenix.js these tests drive. */
export interface PhoenixModule {
  Socket: new (endPoint: string, opts?: Record<string, unknown>) => PhxSocket;
  LongPoll: unknown;
}
export interface PhxSocket {
  connect(): void;
  disconnect(callback?: () => void, code?: number): void;
  channel(topic: string, params?: Record<string, unknown>): PhxChannel;
  onOpen(callback: () => void): string;
  ping(callback: (latencyMs: number) => void): boolean;
  onClose(callback: (event: unknown) => void): string;
}
interface PhxChannel {
  join(timeout?: number): PhxPush;
  push(event: string, payload: unknown, timeout?: number): PhxPush;
}
interface PhxPush {
  receive(status: string, callback: (response: unknown) => void): PhxPush;
}

export function pushResult(push: PhxPush): Promise<{ status: string; response: unknown }> {
  return within(
    new Promise((resolve) => {
      for (const status of ["ok", "error", "timeout"]) push.receive(status, (response) => resolve({ status, response }));
    }),
    5_000,
    "push reply",
  );
}

/**
 * A stand-in for the channel layer, enough for a stock client: every push (join, heartbeat, any
 * event) is answered ok, echoing its payload. It decodes and encodes with the connection's
 * negotiated serializer, so the frames are what the real server sends.
 */
export function replyToEverything(connection: Connection): void {
  connection.on("frame", (frame) => {
    const decoded = connection.serializer.decode(frame);
    if (!decoded.ok) return connection.close(1011, decoded.error.code);
    const { joinRef, ref, topic, payload } = decoded.message;
    connection.write(connection.serializer.encodeReply({ joinRef, ref, topic, status: "ok", response: payload }));
  });
}

/** The stock client of one phoenix.js version connects, heartbeats, joins and pushes over both transports. */
export function stockClientSuite(label: string, phoenix: PhoenixModule, authToken: boolean): void {
  for (const transport of ["websocket", "longpoll"] as const) {
    describe(`${label} over ${transport}`, () => {
      let harness: Harness;
      const sockets: PhxSocket[] = [];
      before(async () => {
        harness = await startHarness({ onConnection: replyToEverything, longPoll: { windowMs: 500 } });
      });
      after(async () => {
        for (const socket of sockets) socket.disconnect();
        await harness.stop();
      });

      test("connect, heartbeat, join and push round trips; connect params arrive", async () => {
        const socket = new phoenix.Socket(`${harness.wsUrl}/socket`, {
          transport: transport === "websocket" ? WebSocket : phoenix.LongPoll,
          params: { userToken: "u-1" },
          ...(authToken ? { authToken: "bearer-xyz" } : {}),
          reconnectAfterMs: () => 100,
          logger: undefined,
        });
        sockets.push(socket);
        const opened = within(new Promise<void>((resolve) => socket.onOpen(resolve)), 5_000, "socket open");
        socket.connect();
        await opened;
        const seen = await harness.connection(0);
        assert.equal(seen.connection.transport, transport);
        assert.equal(seen.connection.serializer.vsn, "2.0.0");
        assert.equal(seen.connection.params.userToken, "u-1");
        if (authToken) assert.equal(seen.connection.params.authToken, "bearer-xyz");

        const latency = await within(new Promise<number>((resolve) => socket.ping(resolve)), 5_000, "heartbeat reply");
        assert.ok(latency >= 0);
        const channel = socket.channel("rooms:lobby", { user: "stock" });
        assert.deepEqual(await pushResult(channel.join()), { status: "ok", response: { user: "stock" } });
        assert.deepEqual(await pushResult(channel.push("echo", { n: 1 })), { status: "ok", response: { n: 1 } });
        const pushes = Array.from({ length: 5 }, (_, n) => pushResult(channel.push("burst", { n })));
        assert.deepEqual(
          (await Promise.all(pushes)).map((result) => result.response),
          [0, 1, 2, 3, 4].map((n) => ({ n })),
          "a burst of pushes (one LongPoll batch) all come back",
        );
      });
    });
  }
}
