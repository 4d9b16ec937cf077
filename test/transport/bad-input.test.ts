import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { ALLOWED_ORIGIN, startHarness } from "./harness.ts";
import type { Harness } from "./harness.ts";

const MAX_FRAME_BYTES = 4096;
const HTTP_STATUSES = new Set([200, 204, 400, 403, 405]);
const LONGPOLL_STATUSES = new Set([200, 204, 400, 403, 410, 413]);

/** Sends raw bytes and returns the status line of the answer (or "closed" when the server just hangs up). */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    let received = "";
    const timer = setTimeout(() => socket.destroy(), 2_000);
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
      if (received.includes("\r\n")) socket.destroy();
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(received.split("\r\n")[0] || "closed");
    });
  });
}

describe("transport bad input (property-based)", () => {
  let harness: Harness;
  let validToken = "";
  before(async () => {
    harness = await startHarness({
      maxFrameBytes: MAX_FRAME_BYTES,
      longPoll: { windowMs: 50, sessionTimeoutMs: 5_000, maxBatchLines: 10 },
      authorize: ({ params }) => params.deny === undefined,
    });
    validToken = ((await (await fetch(`${harness.url}/socket/longpoll?vsn=2.0.0`)).json()) as { token: string }).token;
  });
  after(async () => {
    await harness.stop();
  });

  test("any method, path, vsn, token, Origin, content type and body gets a documented answer", async () => {
    const request = fc.record({
      method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"),
      path: fc.constantFrom("/socket/longpoll", "/websocket/longpoll", "/socket/websocket", "/websocket", "/socket/engine.io/"),
      vsn: fc.oneof(fc.constantFrom("2.0.0", "1.0.0", "3.0.0", ""), fc.string({ maxLength: 12 })),
      token: fc.oneof(fc.constant(undefined), fc.constant("valid"), fc.string({ maxLength: 80 })),
      origin: fc.oneof(fc.constant(undefined), fc.constant(ALLOWED_ORIGIN), fc.webUrl()),
      contentType: fc.constantFrom("application/x-ndjson", "application/json", "text/plain", "garbage/\u00e9"),
      body: fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.array(fc.oneof(fc.string({ maxLength: 30 }), fc.base64String({ maxLength: 40 })), { maxLength: 14 }).map((lines) => lines.join("\n")),
        fc.nat({ max: 2 * MAX_FRAME_BYTES }).map((size) => "x".repeat(size)),
      ),
      extraQuery: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(request, async ({ method, path, vsn, token, origin, contentType, body, extraQuery }) => {
        const query = new URLSearchParams({ ...extraQuery, vsn });
        if (token !== undefined) query.append("token", token === "valid" ? validToken : token);
        const headers: Record<string, string> = { "content-type": contentType };
        if (origin) headers.origin = origin;
        const res = await fetch(`${harness.url}${path}?${query}`, { method, headers, ...(method === "GET" || method === "OPTIONS" ? {} : { body }) });
        const text = await res.text();
        assert.ok(HTTP_STATUSES.has(res.status), `HTTP ${res.status} for ${method} ${path}`);
        if (res.status === 200 && path.endsWith("longpoll")) {
          const answer = JSON.parse(text) as { status: number };
          assert.ok(LONGPOLL_STATUSES.has(answer.status), `LongPoll status ${answer.status}`);
        }
      }),
      { numRuns: 150 },
    );
  });

  test("malformed upgrades are refused with an HTTP status, never a crash", async () => {
    const port = Number(new URL(harness.url).port);
    const upgrade = (path: string, headers: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${headers}\r\n`;
    const key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    assert.match(await rawExchange(port, upgrade("/socket/websocket?vsn=2.0.0", "")), /^HTTP\/1\.1 400/, "no key");
    assert.match(await rawExchange(port, upgrade("/socket/websocket?vsn=2.0.0", "Sec-WebSocket-Key: x\r\nSec-WebSocket-Version: 99\r\n")), /^HTTP\/1\.1 400/);
    assert.match(await rawExchange(port, upgrade("/socket/websocket?vsn=9", key)), /^HTTP\/1\.1 403/);
    assert.match(await rawExchange(port, upgrade("/socket/websocket?vsn=2.0.0&deny=1", key)), /^HTTP\/1\.1 403/);
    assert.match(await rawExchange(port, upgrade("/socket/websocket?vsn=2.0.0", key)), /^HTTP\/1\.1 101/);
    assert.match(await rawExchange(port, upgrade("/socket/engine.io/?EIO=4&transport=websocket&sid=nope", key)), /^HTTP\/1\.1 400/);
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 60 }), fc.string({ maxLength: 60 }), async (query, protocol) => {
        const path = `/socket/websocket?${encodeURIComponent(query)}`;
        const status = await rawExchange(port, upgrade(path, `${key}Sec-WebSocket-Protocol: ${protocol.replace(/[\r\n]/g, "")}\r\n`));
        assert.match(status, /^HTTP\/1\.1 (101|400|403)|^closed$/, status);
      }),
      { numRuns: 60 },
    );
  });

  test("the node still serves a normal session afterwards", async () => {
    const opened = (await (await fetch(`${harness.url}/socket/longpoll?vsn=2.0.0`)).json()) as { status: number; token: string };
    assert.equal(opened.status, 410);
    const posted = await fetch(`${harness.url}/socket/longpoll?vsn=2.0.0&token=${encodeURIComponent(opened.token)}`, { method: "POST", body: "[]" });
    assert.deepEqual(await posted.json(), { status: 200 });
  });
});
