import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import pino from "pino";
import type { Connection } from "../src/types.ts";
import { createTransportServer } from "../src/server.ts";

/** Several engine.io ping cycles fit in this wait; an unanswered ping would close within one. */
const HEARTBEAT = { intervalMs: 40, timeoutMs: 40 };
const CYCLES_MS = 400;

const connections: Connection[] = [];
const closes: number[] = [];
const transport = createTransportServer(
  {
    paths: ["/socket"],
    checkOrigin: () => true,
    idleTimeoutMs: 60_000,
    maxFrameBytes: 1024,
    sendQueueBytes: 1024 * 1024,
    longPoll: { windowMs: 60_000, sessionTimeoutMs: 60_000, maxBatchLines: 100 },
    secret: "s",
    nodeId: "n",
    logger: pino({ level: "silent" }),
    onConnection(connection) {
      connections.push(connection);
      connection.on("close", (code) => closes.push(code));
    },
  },
  HEARTBEAT,
);
const server = createServer((req, res) => void transport.handleRequest(req, res));
server.on("upgrade", (req, socket, head) => void transport.handleUpgrade(req, socket, head));
let base = "";

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `127.0.0.1:${(server.address() as AddressInfo).port}/socket`;
});
after(async () => {
  await transport.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

test("engine.io pings are answered for the client and never reach it (a waiting LongPoll poll)", async () => {
  const opened = (await (await fetch(`http://${base}/longpoll?vsn=2.0.0`)).json()) as { token: string };
  const controller = new AbortController();
  const poll = fetch(`http://${base}/longpoll?vsn=2.0.0&token=${encodeURIComponent(opened.token)}`, { signal: controller.signal })
    .then((res) => res.text())
    .catch(() => "aborted");

  await new Promise((resolve) => setTimeout(resolve, CYCLES_MS));
  assert.equal(connections.length, 1);
  assert.deepEqual(closes, [], "no connection closed by engine.io's ping timeout");
  controller.abort();
  assert.equal(await poll, "aborted", "the waiting poll was not answered with engine.io packets");
});
