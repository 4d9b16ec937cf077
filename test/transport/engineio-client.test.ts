import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { EngineIOTransport } from "@switchboard/transport/engineio-client";
import { ALLOWED_ORIGIN, startHarness, within } from "./harness.ts";
import type { Harness } from "./harness.ts";
import { pushResult, replyToEverything } from "./stock-client.ts";
import type { PhoenixModule, PhxSocket } from "./stock-client.ts";

const created: EngineIOTransport[] = [];
class TrackedTransport extends EngineIOTransport {
  constructor(endPoint: string, protocols?: string[]) {
    super(endPoint, protocols);
    created.push(this);
  }
}
class WebSocketOnlyTransport extends TrackedTransport {
  static override transports = ["websocket" as const];
}

describe("engine.io clients: phoenix.js over EngineIOTransport", () => {
  let harness: Harness;
  let phoenix: PhoenixModule;
  const sockets: PhxSocket[] = [];
  before(async () => {
    phoenix = (await import("phoenix")) as unknown as PhoenixModule;
    harness = await startHarness({ onConnection: replyToEverything, authorize: ({ params }) => params.deny !== "yes" });
  });
  after(async () => {
    for (const socket of sockets) socket.disconnect();
    await harness.stop();
  });

  const connect = async (transport: typeof EngineIOTransport, opts: Record<string, unknown> = {}) => {
    const socket = new phoenix.Socket(`${harness.wsUrl}/socket`, { transport, reconnectAfterMs: () => 50, logger: undefined, ...opts });
    sockets.push(socket);
    const opened = within(new Promise<void>((resolve) => socket.onOpen(resolve)), 5_000, "socket open");
    socket.connect();
    await opened;
    return socket;
  };

  test("polling → websocket upgrade: connect, heartbeat, join, JSON and binary pushes, params and authToken", async () => {
    const before = harness.connections.length;
    const socket = await connect(TrackedTransport, { params: { userToken: "e-1" }, authToken: "bearer-eio" });
    const seen = await harness.connection(before);
    assert.equal(seen.connection.transport, "engineio");
    assert.equal(seen.connection.serializer.format, "v2");
    assert.deepEqual({ ...seen.connection.params }, { userToken: "e-1", authToken: "bearer-eio" });
    assert.ok((await within(new Promise<number>((resolve) => socket.ping(resolve)), 5_000, "heartbeat")) >= 0);
    const channel = socket.channel("rooms:lobby", { user: "eio" });
    assert.deepEqual(await pushResult(channel.join()), { status: "ok", response: { user: "eio" } });
    assert.deepEqual(await pushResult(channel.push("echo", { n: 1 })), { status: "ok", response: { n: 1 } });
    const bytes = new Uint8Array([1, 2, 3, 250]).buffer;
    const binary = await pushResult(channel.push("bin", bytes));
    assert.equal(binary.status, "ok");
    assert.ok(binary.response instanceof ArrayBuffer, "a binary push gets a binary reply");
    assert.deepEqual([...new Uint8Array(binary.response)], [1, 2, 3, 250]);
    assert.ok(Buffer.isBuffer(seen.frames.at(-1)), "the server received a binary frame");
    const transport = created.at(-1)!;
    await within(
      (async () => {
        while (transport.engine.transport.name !== "websocket") await new Promise((resolve) => setTimeout(resolve, 20));
      })(),
      5_000,
      "upgrade to websocket",
    );
    assert.deepEqual(await pushResult(channel.push("echo", { upgraded: true })), { status: "ok", response: { upgraded: true } });
  });

  test("websocket-only engine.io client; a server close makes the stock client reconnect and rejoin", async () => {
    const before = harness.connections.length;
    const socket = await connect(WebSocketOnlyTransport);
    assert.equal(created.at(-1)!.engine.transport.name, "websocket");
    const channel = socket.channel("rooms:lobby", {});
    assert.equal((await pushResult(channel.join())).status, "ok");
    const seen = await harness.connection(before);
    const reopened = within(new Promise<void>((resolve) => socket.onOpen(resolve)), 5_000, "reopen");
    seen.connection.close(1012, "draining");
    await reopened;
    assert.deepEqual(await pushResult(channel.push("echo", { again: true })), { status: "ok", response: { again: true } });
  });

  test("raw engine.io handshakes: bad vsn, bad Origin, refused connect → 403; unknown transport → 400; unknown sid → engine.io's 400", async () => {
    const base = `${harness.url}/socket/engine.io/?EIO=4&transport=polling`;
    assert.equal((await fetch(`${base}&vsn=2.0.0`)).status, 200);
    assert.equal((await fetch(`${base}&vsn=3.0.0`)).status, 403);
    assert.equal((await fetch(`${base}&vsn=2.0.0&deny=yes`)).status, 403);
    assert.equal((await fetch(`${base}&vsn=2.0.0`, { headers: { origin: "http://evil.test" } })).status, 403);
    assert.equal((await fetch(`${base}&vsn=2.0.0`, { headers: { origin: ALLOWED_ORIGIN } })).status, 200);
    assert.equal((await fetch(`${harness.url}/socket/engine.io/?EIO=4&transport=phoenix-longpoll&vsn=2.0.0`)).status, 400);
    assert.equal((await fetch(`${base}&sid=unknown`)).status, 400);
  });
});
