import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { after, before, describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import WebSocket from "ws";
import { CloseCode } from "@switchboard/protocol";
import { stallEventLoop } from "../support/event-loop.ts";
import { ALLOWED_ORIGIN, startHarness, within } from "./harness.ts";
import type { Harness } from "./harness.ts";

type Opened = { ws: WebSocket } | { status: number };

/** Opens a raw WebSocket; resolves with the HTTP status when the upgrade is refused. */
function open(url: string, options: { protocols?: string[]; origin?: string } = {}): Promise<Opened> {
  return within(
    new Promise<Opened>((resolve, reject) => {
      const ws = new WebSocket(url, options.protocols ?? [], options.origin ? { origin: options.origin } : {});
      ws.once("open", () => resolve({ ws }));
      ws.once("unexpected-response", (_req, res) => {
        resolve({ status: res.statusCode ?? 0 });
        res.resume();
      });
      ws.once("error", reject);
    }),
    2_000,
    `open ${url}`,
  );
}

async function connect(url: string, options?: { protocols?: string[]; origin?: string }): Promise<WebSocket> {
  const opened = await open(url, options);
  if (!("ws" in opened)) throw new Error(`upgrade refused with HTTP ${opened.status}`);
  return opened.ws;
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return within(new Promise((resolve) => ws.once("message", (data: Buffer, isBinary: boolean) => resolve({ data, isBinary }))), 2_000, "next message");
}

function rawSocketOf(ws: WebSocket): { pause(): void; resume(): void; write(bytes: Buffer): void } {
  return (ws as unknown as { _socket: ReturnType<typeof rawSocketOf> })._socket;
}

function closeOf(ws: WebSocket, ms = 2_000): Promise<{ code: number; reason: string }> {
  return within(new Promise((resolve) => ws.once("close", (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() }))), ms, "client close");
}

describe("WebSocket transport", () => {
  let harness: Harness;
  const clients: WebSocket[] = [];
  const track = (ws: WebSocket) => (clients.push(ws), ws);
  let authorizedHost: string | undefined;
  before(async () => {
    harness = await startHarness({
      authorize: ({ params, headers }) => {
        authorizedHost = headers.host;
        return params.deny !== "yes";
      },
    });
  });
  after(async () => {
    for (const ws of clients) ws.terminate();
    await harness.stop();
  });

  test("vsn negotiation: absent → V1, 1.x → V1, 2.x → V2 with binary, anything else → HTTP 403", async () => {
    const expected: Array<[string, string]> = [
      ["", "v1"],
      ["?vsn=1.0.0", "v1"],
      ["?vsn=2.0.0", "v2"],
    ];
    for (const [query, format] of expected) {
      const before = harness.connections.length;
      track(await connect(`${harness.wsUrl}/socket/websocket${query}`));
      const seen = await harness.connection(before);
      assert.equal(seen.connection.serializer.format, format, `serializer for "${query}"`);
      assert.equal(seen.connection.transport, "websocket");
    }
    for (const vsn of ["3.0.0", "2", "banana", ""]) {
      assert.deepEqual(await open(`${harness.wsUrl}/socket/websocket?vsn=${vsn}`), { status: 403 }, `vsn=${vsn}`);
    }
  });

  test("mount paths: /socket/websocket, tangram's bare /websocket and /websocket/websocket; others are not ours", async () => {
    for (const path of ["/socket/websocket", "/websocket", "/websocket/websocket", "/socket/websocket/"]) {
      const ws = track(await connect(`${harness.wsUrl}${path}?vsn=2.0.0`));
      ws.send("ping " + path);
      assert.equal((await nextMessage(ws)).data.toString(), "ping " + path);
    }
    assert.deepEqual(await open(`${harness.wsUrl}/elsewhere/websocket?vsn=2.0.0`), { status: 404 });
    assert.deepEqual(await open(`${harness.wsUrl}/socket/longpoll?vsn=2.0.0`), { status: 400 }, "an upgrade on the LongPoll path");
    const plain = await fetch(`${harness.url}/socket/websocket?vsn=2.0.0`);
    assert.equal(plain.status, 400, "a plain GET on the WebSocket path");
  });

  test("Origin: allowed or absent → upgrade; any other → HTTP 403", async () => {
    track(await connect(`${harness.wsUrl}/socket/websocket?vsn=2.0.0`, { origin: ALLOWED_ORIGIN }));
    assert.deepEqual(await open(`${harness.wsUrl}/socket/websocket?vsn=2.0.0`, { origin: "http://evil.test" }), { status: 403 });
  });

  test("connect params: query minus vsn, subprotocol authToken decoded, `phoenix` echoed; authorize sees the headers, its refusal → 403", async () => {
    const token = "secret+/token?";
    const protocol = "base64url.bearer.phx." + Buffer.from(token).toString("base64").replace(/=/g, "");
    const before = harness.connections.length;
    const ws = track(await connect(`${harness.wsUrl}/socket/websocket?vsn=2.0.0&userToken=abc&token=t1`, { protocols: ["phoenix", protocol] }));
    assert.equal(ws.protocol, "phoenix");
    const seen = await harness.connection(before);
    assert.deepEqual({ ...seen.connection.params }, { userToken: "abc", token: "t1", authToken: token });
    assert.equal(seen.connection.remoteAddress, "127.0.0.1");
    assert.equal(authorizedHost, new URL(harness.url).host);
    assert.deepEqual(await open(`${harness.wsUrl}/socket/websocket?vsn=2.0.0&deny=yes`), { status: 403 });
  });

  test("text and binary frames travel both ways unchanged; no engine.io packet reaches the client", async () => {
    const before = harness.connections.length;
    const ws = track(await connect(`${harness.wsUrl}/socket/websocket?vsn=2.0.0`));
    const seen = await harness.connection(before);
    const text = '[null,"1","phoenix","heartbeat",{}]';
    ws.send(text);
    const echoedText = await nextMessage(ws);
    assert.equal(echoedText.isBinary, false, "the first message is our echo, not engine.io's open packet");
    assert.equal(echoedText.data.toString(), text);
    const bytes = Buffer.from([0, 1, 1, 7, 4, 0x31, 0x32, ...Buffer.from("phoenix"), ...Buffer.from("ping"), 0xff, 0x00]);
    ws.send(bytes);
    const echoedBinary = await nextMessage(ws);
    assert.equal(echoedBinary.isBinary, true);
    assert.deepEqual(Buffer.from(echoedBinary.data), bytes);
    assert.equal(seen.frames[0], text);
    assert.ok(Buffer.isBuffer(seen.frames[1]));
    assert.deepEqual(seen.frames[1], bytes);
  });

  test("connection.close(code) sends that close code; 'close' fires once; connectionCount follows", async () => {
    const before = harness.connections.length;
    const ws = track(await connect(`${harness.wsUrl}/socket/websocket?vsn=2.0.0`));
    const seen = await harness.connection(before);
    const countBefore = harness.transport.connectionCount().websocket;
    let closes = 0;
    seen.connection.on("close", () => closes++);
    const clientClosed = closeOf(ws);
    seen.connection.close(CloseCode.SERVICE_RESTART, "draining");
    seen.connection.close(CloseCode.GOING_AWAY, "again");
    assert.deepEqual(await clientClosed, { code: 1012, reason: "draining" });
    assert.deepEqual(await seen.closed, { code: 1012, reason: "draining" });
    assert.equal(closes, 1);
    assert.equal(harness.transport.connectionCount().websocket, countBefore - 1);
  });

  test("a client close reaches the server with the client's code", async () => {
    const before = harness.connections.length;
    const ws = track(await connect(`${harness.wsUrl}/socket/websocket?vsn=2.0.0`));
    const seen = await harness.connection(before);
    ws.close(4321, "bye");
    assert.deepEqual(await within(seen.closed, 2_000, "server close"), { code: 4321, reason: "bye" });
  });

  test("peer faults: invalid UTF-8 → 1007, an unmasked client frame → 1002, on both sides; a dropped TCP connection reports 1006", async () => {
    const cases: Array<[string, (ws: WebSocket) => void, number]> = [
      ["invalid UTF-8", (ws) => ws.send(Buffer.from([0x61, 0xff, 0xfe]), { binary: false }), 1007],
      // A client frame must be masked (RFC 6455 §5.1): FIN + text, unmasked length 2, "hi".
      ["unmasked frame", (ws) => rawSocketOf(ws).write(Buffer.from([0x81, 0x02, 0x68, 0x69])), 1002],
    ];
    for (const [fault, commit, code] of cases) {
      const before = harness.connections.length;
      const ws = track(await connect(`${harness.wsUrl}/socket/websocket?vsn=2.0.0`));
      const seen = await harness.connection(before);
      const clientClosed = closeOf(ws);
      commit(ws);
      assert.equal((await clientClosed).code, code, `${fault}: the client's close`);
      assert.equal((await within(seen.closed, 2_000, fault)).code, code, `${fault}: the server's close event`);
    }
    const before = harness.connections.length;
    const ws = track(await connect(`${harness.wsUrl}/socket/websocket?vsn=2.0.0`));
    const seen = await harness.connection(before);
    ws.terminate();
    assert.equal((await within(seen.closed, 2_000, "dropped")).code, 1006);
  });

  test("connection ids: unique, 20 base64url characters like engine.io's (LongPoll) ids", async () => {
    const before = harness.connections.length;
    for (let i = 0; i < 20; i++) track(await connect(`${harness.wsUrl}/socket/websocket?vsn=2.0.0`));
    await harness.connection(before + 19);
    const ids = harness.connections.slice(before).map((seen) => seen.connection.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{20}$/);
  });

  test("an open connection does not keep its upgrade request alive", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    let request: WeakRef<IncomingMessage> | undefined;
    const remember = (req: IncomingMessage) => (request = new WeakRef(req));
    harness.server.on("upgrade", remember);
    const before = harness.connections.length;
    try {
      const ws = track(await connect(`${harness.wsUrl}/socket/websocket?vsn=2.0.0&userToken=abc`));
      const seen = await harness.connection(before);
      // A WeakRef's target lives at least until the job that made it ends; a few turns and
      // collections let everything that only held it during the handshake let go.
      for (let attempt = 0; attempt < 10 && request?.deref() !== undefined; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        gc();
      }
      assert.ok(request !== undefined, "the upgrade was seen");
      assert.equal(request.deref(), undefined, "the request was collected");
      ws.send("still open");
      assert.equal((await nextMessage(ws)).data.toString(), "still open");
      assert.equal(seen.connection.remoteAddress, "127.0.0.1", "what the connection needs of the request was copied");
    } finally {
      harness.server.off("upgrade", remember);
    }
  });
});

describe("WebSocket limits", () => {
  const IDLE_TIMEOUT_MS = 400;
  let harness: Harness;
  const clients: WebSocket[] = [];
  before(async () => {
    harness = await startHarness({ idleTimeoutMs: IDLE_TIMEOUT_MS, maxFrameBytes: 4096, sendQueueBytes: 256 * 1024 });
  });
  after(async () => {
    for (const ws of clients) ws.terminate();
    await harness.stop();
  });

  test("idle timeout: a silent client is closed with 1002, a talking one stays", async () => {
    const silent = await connect(`${harness.wsUrl}/socket/websocket?vsn=2.0.0`);
    const talking = await connect(`${harness.wsUrl}/socket/websocket?vsn=2.0.0`);
    clients.push(silent, talking);
    const started = Date.now();
    const talker = setInterval(() => talking.send("hb"), 100);
    try {
      assert.equal((await closeOf(silent, 3_000)).code, CloseCode.IDLE_TIMEOUT);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 350 && elapsed < 2_000, `closed after ${elapsed} ms`);
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(talking.readyState, WebSocket.OPEN, "a client sending frames is not idle");
    } finally {
      clearInterval(talker);
    }
  });

  test("idle timeout: a frame that arrived while the server's event loop stalled keeps the connection open", async () => {
    const before = harness.connections.length;
    const ws = await connect(`${harness.wsUrl}/socket/websocket?vsn=2.0.0`);
    clients.push(ws);
    const seen = await harness.connection(before);
    // The frame is in the server's socket buffer well before the idle deadline, but the stall keeps
    // the server from reading it until after: the overdue timer and the readable socket are both
    // ready when the loop resumes, and timers run first.
    ws.send("in time");
    stallEventLoop(IDLE_TIMEOUT_MS + 200);
    const first = await Promise.race([nextMessage(ws).then(({ data }) => `echo ${data}`), seen.closed.then(({ code }) => `closed ${code}`)]);
    assert.equal(first, "echo in time");
  });

  test("a frame over maxFrameBytes closes with 1009, and the server keeps serving", async () => {
    const before = harness.connections.length;
    const ws = await connect(`${harness.wsUrl}/socket/websocket?vsn=2.0.0`);
    clients.push(ws);
    const seen = await harness.connection(before);
    const closed = closeOf(ws);
    ws.send(Buffer.alloc(4097, 0x61), { binary: false });
    assert.equal((await closed).code, CloseCode.MESSAGE_TOO_BIG);
    assert.equal((await within(seen.closed, 2_000, "server close")).code, CloseCode.MESSAGE_TOO_BIG);
    const other = await connect(`${harness.wsUrl}/socket/websocket?vsn=2.0.0`);
    clients.push(other);
    other.send("x".repeat(4096));
    assert.equal((await nextMessage(other)).data.length, 4096, "a frame of exactly the limit passes");
  });

  test("slow consumer: a client that stops reading is closed with SLOW_CONSUMER, memory stays bounded", async () => {
    const before = harness.connections.length;
    const ws = await connect(`${harness.wsUrl}/socket/websocket?vsn=2.0.0`);
    clients.push(ws);
    const seen = await harness.connection(before);
    const rawSocket = rawSocketOf(ws);
    rawSocket.pause();
    const frame = "x".repeat(64 * 1024);
    let written = 0;
    let maxBuffered = 0;
    const closed = within(seen.closed, 10_000, "slow consumer close");
    let isClosed = false;
    void closed.then(() => (isClosed = true), () => undefined);
    // One frame per turn of the event loop, so each reaches the kernel as a fast reader's would;
    // kernel buffers absorb the first megabytes, then the queue grows until the server gives up.
    while (!isClosed && written < 4_000) {
      seen.connection.write(frame);
      written++;
      maxBuffered = Math.max(maxBuffered, seen.connection.bufferedBytes);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const result = await closed;
    assert.equal(result.code, CloseCode.SLOW_CONSUMER);
    assert.ok(written > 256 * 1024 / frame.length + 8, `closed only after the kernel buffers filled (${written} frames written)`);
    assert.ok(maxBuffered <= 256 * 1024 + frame.length, `queue peaked at ${maxBuffered} bytes`);
    const clientClosed = closeOf(ws, 5_000);
    rawSocket.resume();
    assert.equal((await clientClosed).code, CloseCode.SLOW_CONSUMER, "the client reads its way to the close frame");
  });

  test("a slow consumer that never reads again is dropped after the close handshake timeout", async () => {
    const before = harness.connections.length;
    const ws = await connect(`${harness.wsUrl}/socket/websocket?vsn=2.0.0`);
    clients.push(ws);
    const seen = await harness.connection(before);
    const rawSocket = rawSocketOf(ws);
    rawSocket.pause();
    const frame = "y".repeat(64 * 1024);
    for (let i = 0; i < 4_000 && harness.transport.connectionCount().websocket > 0; i++) {
      seen.connection.write(frame);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal((await within(seen.closed, 10_000, "slow consumer close")).code, CloseCode.SLOW_CONSUMER);
    // Past the 5 s close handshake timeout the server has dropped the TCP connection with the
    // queue and the close frame unsent: reading now ends abnormally, not with a close frame.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const clientClosed = closeOf(ws, 5_000);
    rawSocket.resume();
    assert.equal((await clientClosed).code, 1006);
  });

  test("a burst written in one tick to a client that reads is not a slow consumer", async () => {
    const before = harness.connections.length;
    const ws = await connect(`${harness.wsUrl}/socket/websocket?vsn=2.0.0`);
    clients.push(ws);
    const seen = await harness.connection(before);
    let received = 0;
    ws.on("message", () => received++);
    for (let i = 0; i < 8; i++) seen.connection.write("z".repeat(64 * 1024));
    await within(
      (async () => {
        while (received < 8) await new Promise((resolve) => setTimeout(resolve, 10));
      })(),
      3_000,
      "burst received",
    );
    assert.equal(ws.readyState, WebSocket.OPEN);
  });

  test("stopAccepting: new upgrades get 503, open connections keep working", async () => {
    const ws = await connect(`${harness.wsUrl}/socket/websocket?vsn=2.0.0`);
    clients.push(ws);
    harness.transport.stopAccepting();
    assert.deepEqual(await open(`${harness.wsUrl}/socket/websocket?vsn=2.0.0`), { status: 503 });
    ws.send("still here");
    assert.equal((await nextMessage(ws)).data.toString(), "still here");
  });
});

describe("WebSocket: a throwing frame listener", () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({
      onConnection(connection) {
        connection.on("frame", (frame) => {
          if (frame === "boom") throw new Error("handler bug");
          connection.write(frame);
        });
      },
    });
  });
  after(async () => {
    await harness.stop();
  });

  test("closes that connection with 1011; the process and other connections carry on", async () => {
    const victim = await connect(`${harness.wsUrl}/socket/websocket?vsn=2.0.0`);
    const bystander = await connect(`${harness.wsUrl}/socket/websocket?vsn=2.0.0`);
    const closed = closeOf(victim);
    victim.send("boom");
    assert.equal((await closed).code, 1011);
    bystander.send("fine");
    assert.equal((await nextMessage(bystander)).data.toString(), "fine");
    bystander.terminate();
  });
});
