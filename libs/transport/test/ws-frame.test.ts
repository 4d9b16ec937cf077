import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import pino from "pino";
import WebSocket from "ws";
import type { Connection } from "../src/types.ts";
import { createTransportServer } from "../src/server.ts";

/** Payload lengths on each side of the three header forms (7-bit, 16-bit, 64-bit). */
const LENGTHS = [0, 1, 125, 126, 65_535, 65_536, 70_000];
const SEND_QUEUE_BYTES = 16 * 1024 * 1024;

const accepted: Connection[] = [];
const transport = createTransportServer({
  paths: ["/socket"],
  checkOrigin: () => true,
  idleTimeoutMs: 60_000,
  maxFrameBytes: 1024,
  sendQueueBytes: SEND_QUEUE_BYTES,
  longPoll: { windowMs: 60_000, sessionTimeoutMs: 60_000, maxBatchLines: 100 },
  secret: "s",
  nodeId: "n",
  logger: pino({ level: "silent" }),
  onConnection: (connection) => void accepted.push(connection),
});
const server = createServer((req, res) => void transport.handleRequest(req, res));
server.on("upgrade", (req, socket, head) => void transport.handleUpgrade(req, socket, head));

after(async () => {
  await transport.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function connect(): Promise<{ client: WebSocket; connection: Connection; received: Array<{ data: Buffer; isBinary: boolean }> }> {
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.listen(0, "127.0.0.1", resolve)));
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/socket/websocket?vsn=2.0.0`);
  const received: Array<{ data: Buffer; isBinary: boolean }> = [];
  client.on("message", (data: Buffer, isBinary) => received.push({ data, isBinary }));
  await new Promise((resolve, reject) => client.once("open", resolve).once("error", reject));
  while (accepted.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  return { client, connection: accepted.shift()!, received };
}

test("pre-built frames reach a stock ws client intact: text and binary, every header length, one frame shared by two sockets", async () => {
  const a = await connect();
  const b = await connect();
  const frames = LENGTHS.flatMap((length) => [
    "é".repeat(Math.floor(length / 2)) + "x".repeat(length % 2),
    Buffer.alloc(length, length % 251),
  ]);
  // One tick, as a broadcast writes: each frame to both sockets in a row.
  for (const frame of frames) {
    a.connection.write(frame);
    b.connection.write(frame);
  }
  for (const { received } of [a, b]) {
    while (received.length < frames.length) await new Promise((resolve) => setTimeout(resolve, 5));
    received.forEach(({ data, isBinary }, index) => {
      const frame = frames[index]!;
      assert.equal(isBinary, typeof frame !== "string", `frame ${index} kind`);
      assert.deepEqual(data, typeof frame === "string" ? Buffer.from(frame) : frame, `frame ${index} bytes`);
    });
  }
  a.client.terminate();
  b.client.terminate();
});

test("after a message, ws's chunk queue is a fresh array (its old one kept a backing store per socket), and frames still arrive whole", async () => {
  const { client, connection } = await connect();
  const receiver = (connection as unknown as { ws: { _receiver: { _buffers: unknown } } }).ws._receiver;
  const queues: unknown[] = [];
  const frames: unknown[] = [];
  connection.on("frame", (frame) => {
    frames.push(frame);
    queues.push(receiver._buffers);
  });
  const before = receiver._buffers;
  assert.ok(Array.isArray(before), "ws's Receiver keeps its chunks in _buffers (libs/transport/src/websocket-connection.ts relies on the name)");
  // Two messages in one chunk, then one split over two chunks.
  client.send("one");
  client.send("two");
  await new Promise((resolve) => setTimeout(resolve, 50));
  // Under this server's 1 KiB frame limit, sent as two chunks.
  const long = "x".repeat(1000);
  rawSocketOf(client).write(maskedTextFrame(long).subarray(0, 500));
  await new Promise((resolve) => setTimeout(resolve, 50));
  rawSocketOf(client).write(maskedTextFrame(long).subarray(500));
  const deadline = Date.now() + 5_000;
  while (frames.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(frames, ["one", "two", long]);
  const last = queues.at(-1);
  assert.ok(Array.isArray(last) && last.length === 0 && last !== before, "the emptied queue was replaced");
  client.terminate();
});

function rawSocketOf(client: WebSocket): { write(bytes: Buffer): void } {
  return (client as unknown as { _socket: { write(bytes: Buffer): void } })._socket;
}

/** A client's text frame as RFC 6455 has it (FIN, masked with a zero key, 16-bit length). */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  return Buffer.concat([Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff, 0, 0, 0, 0]), payload]);
}

test("after the upgrade only ws listens for the TCP socket's errors, and an error there still ends the connection", async () => {
  const { connection } = await connect();
  const socket = (connection as unknown as { socket: import("node:net").Socket }).socket;
  assert.equal(socket.listenerCount("error"), 1, "the upgrade's own error listener was removed");
  const closed = new Promise<number>((resolve) => connection.on("close", (code) => resolve(code)));
  socket.emit("error", new Error("connection reset"));
  assert.equal(await closed, 1006);
});
