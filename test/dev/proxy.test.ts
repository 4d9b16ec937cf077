import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import WebSocket, { WebSocketServer } from "ws";
import { startRoundRobinProxy, UPSTREAM_HEADER, type RoundRobinProxy } from "../../tools/dev/proxy.ts";

/** The dev proxy against three tiny upstreams that say who they are. */

const STEP_TIMEOUT_MS = 5_000;

interface Upstream {
  name: string;
  port: number;
  server: Server;
}

async function startUpstream(name: string): Promise<Upstream> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "set-cookie": ["a=1", "b=2"] });
      res.end(JSON.stringify({ name, method: req.method, body: Buffer.concat(chunks).toString(), forwardedFor: req.headers["x-forwarded-for"] }));
    });
  });
  new WebSocketServer({ server }).on("connection", (socket) => {
    socket.on("message", (data: Buffer, isBinary: boolean) => socket.send(isBinary ? data : `${name}:${data.toString()}`, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { name, port: (server.address() as AddressInfo).port, server };
}

function stopUpstream(upstream: Upstream): Promise<void> {
  upstream.server.closeAllConnections();
  return new Promise((resolve) => upstream.server.close(() => resolve()));
}

async function get(url: string, init: RequestInit = {}) {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(STEP_TIMEOUT_MS) });
  const text = await response.text();
  return { response, text, body: (response.headers.get("content-type")?.startsWith("application/json") ? JSON.parse(text) : {}) as Record<string, unknown> };
}

function openSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace("http", "ws"));
    socket.once("open", () => resolve(socket));
    socket.once("error", reject);
  });
}

async function roundTrip(socket: WebSocket, message: string | Buffer): Promise<string | Buffer> {
  const answer = once(socket, "message") as Promise<[Buffer, boolean]>;
  socket.send(message, { binary: Buffer.isBuffer(message) });
  const [data, isBinary] = await answer;
  return isBinary ? data : data.toString();
}

describe("round-robin dev proxy", () => {
  let upstreams: Upstream[];
  let proxy: RoundRobinProxy;

  before(async () => {
    upstreams = await Promise.all(["a", "b", "c"].map(startUpstream));
    proxy = await startRoundRobinProxy({ targets: upstreams.map((upstream) => ({ host: "127.0.0.1", port: upstream.port })) });
  });
  after(async () => {
    await proxy?.close();
    await Promise.all((upstreams ?? []).filter((upstream) => upstream.server.listening).map(stopUpstream));
  });

  test("each request goes to the next upstream, which is named in a response header", async () => {
    const names: unknown[] = [];
    for (let request = 0; request < 6; request++) {
      const { response, body } = await get(`${proxy.url}/anything?request=${request}`);
      names.push(body.name);
      const upstream = upstreams.find((candidate) => candidate.name === body.name);
      assert.equal(response.headers.get(UPSTREAM_HEADER), `127.0.0.1:${upstream?.port}`);
    }
    assert.deepEqual(names, ["a", "b", "c", "a", "b", "c"]);
    assert.deepEqual(proxy.routed(), [2, 2, 2]);
  });

  test("bodies, repeated response headers and X-Forwarded-For pass through", async () => {
    const payload = JSON.stringify({ text: "é".repeat(50_000) });
    const { response, body } = await get(proxy.url, { method: "POST", body: payload });
    assert.equal(body.body, payload);
    assert.equal(body.method, "POST");
    assert.equal(body.forwardedFor, "127.0.0.1");
    assert.deepEqual(response.headers.getSetCookie(), ["a=1", "b=2"]);
  });

  test("consecutive WebSocket upgrades land on different upstreams and carry text and binary frames", async () => {
    const first = await openSocket(proxy.url);
    const second = await openSocket(proxy.url);
    try {
      const [one, two] = await Promise.all([roundTrip(first, "hi"), roundTrip(second, "hi")]);
      assert.notEqual(one, two);
      assert.match(String(one), /^[abc]:hi$/);
      const bytes = Buffer.from([0, 1, 2, 255]);
      assert.deepEqual(await roundTrip(first, bytes), bytes);
    } finally {
      first.close();
      second.close();
    }
  });

  test("a stopped upstream is skipped for GETs and answered 502 for a body it cannot replay", async () => {
    const stopped = upstreams[1] as Upstream;
    await stopUpstream(stopped);
    const names = new Set<unknown>();
    for (let request = 0; request < 6; request++) names.add((await get(proxy.url)).body.name);
    assert.deepEqual([...names].sort(), ["a", "c"]);

    // Land a POST on the stopped upstream: move the cursor until it is next.
    let status = 0;
    let answer = "";
    for (let request = 0; request < 3 && status !== 502; request++) {
      const { response, text } = await get(proxy.url, { method: "POST", body: "{}" });
      status = response.status;
      answer = text;
    }
    assert.equal(status, 502);
    // Plain text like a real balancer's, so phoenix.js LongPoll retries instead of throwing.
    assert.match(answer, /^bad gateway: upstream/);

    const socket = await openSocket(proxy.url);
    assert.match(String(await roundTrip(socket, "still")), /^[ac]:still$/, "upgrades skip the stopped upstream too");
    socket.close();
  });

  test("close() stops listening and ends proxied WebSockets", async () => {
    const socket = await openSocket(proxy.url);
    const closed = once(socket, "close");
    await proxy.close();
    await closed;
    await assert.rejects(fetch(proxy.url, { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) }));
  });
});
