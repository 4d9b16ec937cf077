import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { connectParams, longPollToken } from "../src/connect-params.ts";
import { encodeAnswer } from "../src/longpoll-answer.ts";
import { parseBatch } from "../src/longpoll-batch.ts";
import { routeRequest, routeTable } from "../src/routes.ts";
import { sessionTokens } from "../src/session-token.ts";

test("session tokens: round trip, tamper-proof, secret-bound, never throw", () => {
  const tokens = sessionTokens("secret-1");
  const ref = { nodeId: "node:a/1", sessionId: "AbC-_123xyzAbC-_123x", issuedAt: 1_795_000_000_000 };
  const token = tokens.issue(ref);
  assert.deepEqual(tokens.verify(token), ref);
  assert.equal(sessionTokens("secret-2").verify(token), undefined, "another cluster's secret");
  fc.assert(
    fc.property(fc.nat({ max: token.length - 1 }), fc.string({ minLength: 1, maxLength: 1 }), (index, char) => {
      const tampered = token.slice(0, index) + char + token.slice(index + 1);
      const verified = tokens.verify(tampered);
      return tampered === token ? verified !== undefined : verified === undefined;
    }),
  );
  fc.assert(fc.property(fc.string({ maxLength: 600 }), (garbage) => tokens.verify(garbage) === undefined));
});

test("LongPoll answers keep Phoenix's key order and drop absent keys", () => {
  assert.equal(encodeAnswer({ token: "t", status: 410, messages: [] }), '{"messages":[],"status":410,"token":"t"}');
  assert.equal(encodeAnswer({ status: 204, token: "t" }), '{"status":204,"token":"t"}');
  assert.equal(encodeAnswer({ status: 200 }), '{"status":200}');
});

test("ndjson batches: text lines, base64 binary lines (V2 only), limits", () => {
  const options = { binary: true, maxLines: 3 };
  assert.deepEqual(parseBatch('[1]\r\n{"a":1}\n\n', "application/x-ndjson", options), { ok: true, frames: ["[1]", '{"a":1}'] });
  assert.deepEqual(parseBatch("AAEC", "application/x-ndjson; charset=utf-8", options), { ok: true, frames: [Buffer.from([0, 1, 2])] });
  assert.deepEqual(parseBatch("AAEC", "application/x-ndjson", { ...options, binary: false }), { ok: true, frames: ["AAEC"] });
  assert.deepEqual(parseBatch("[1]\n[2]", "application/json", options), { ok: true, frames: ["[1]\n[2]"] }, "not ndjson: one frame");
  assert.deepEqual(parseBatch("[1]\n[2]\n[3]\n[4]", "application/x-ndjson", options), { ok: false, status: 413 });
  for (const bad of ["AAE", "AA=C", "A!==", "AAEC="]) {
    assert.deepEqual(parseBatch(bad, "application/x-ndjson", options), { ok: false, status: 400 }, bad);
  }
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 3 }), (payloads) => {
      const body = payloads.map((bytes) => Buffer.from(bytes).toString("base64")).join("\n");
      const parsed = parseBatch(body, "application/x-ndjson", options);
      return parsed.ok && parsed.frames.every((frame, i) => Buffer.isBuffer(frame) && frame.equals(Buffer.from(payloads[i]!)));
    }),
  );
});

test("connect params: vsn removed; LongPoll's session token (last `token`) is not a param, an app `token` before it is", () => {
  const authToken = "base64url.bearer.phx." + Buffer.from("tok").toString("base64").replace(/=/g, "");
  const ws = connectParams(new URLSearchParams("vsn=2.0.0&token=app&user=1"), { "sec-websocket-protocol": `phoenix, ${authToken}` }, "websocket");
  assert.deepEqual(ws, { token: "app", user: "1", authToken: "tok" });
  const query = new URLSearchParams("token=app&vsn=2.0.0&token=SESSION");
  assert.deepEqual(connectParams(query, {}, "longpoll"), { token: "app" });
  assert.equal(longPollToken(query), "SESSION");
  assert.deepEqual(connectParams(new URLSearchParams("vsn=2.0.0&token=null"), { "x-phoenix-authtoken": "h" }, "longpoll"), { authToken: "h" });
  const none = connectParams(new URLSearchParams("vsn=2.0.0"), {}, "websocket");
  assert.deepEqual(none, {});
  assert.equal(connectParams(new URLSearchParams("vsn=2.0.0&token=SESSION"), {}, "longpoll"), none, "connections without params share one object");
  assert.ok(Object.isFrozen(none));
});

test("routes: every mount serves websocket and longpoll; a mount ending in /websocket is a WebSocket endpoint itself", () => {
  const routes = routeTable(["/socket", "/websocket/"]);
  assert.equal(routeRequest(routes, "/socket/websocket?vsn=2.0.0")?.kind, "websocket");
  assert.equal(routeRequest(routes, "/socket/longpoll")?.kind, "longpoll");
  assert.equal(routeRequest(routes, "/websocket?vsn=1.0.0")?.kind, "websocket");
  assert.equal(routeRequest(routes, "/websocket/longpoll")?.kind, "longpoll");
  assert.equal(routeRequest(routes, "/socket"), undefined);
  assert.equal(routeRequest(routes, "/socket/websocketx"), undefined);
  assert.equal(routeRequest(routes, undefined), undefined);
  assert.equal(routeRequest(routes, "/socket/longpoll?vsn=2.0.0&a=b")?.query.get("a"), "b");
});
