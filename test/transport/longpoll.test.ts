import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CloseCode } from "@switchboard/protocol";
import { ALLOWED_ORIGIN, startHarness, within } from "./harness.ts";
import type { Harness } from "./harness.ts";

interface Answer {
  status: number;
  token?: string;
  messages?: string[];
}

const WINDOW_MS = 200;

function client(harness: Harness, vsn = "2.0.0") {
  const endpoint = (token?: string) => `${harness.url}/socket/longpoll?vsn=${vsn}${token === undefined ? "" : `&token=${encodeURIComponent(token)}`}`;
  const json = async (res: Response) => {
    assert.equal(res.status, 200, "LongPoll answers are HTTP 200");
    return (await res.json()) as Answer;
  };
  return {
    endpoint,
    get: async (token?: string, headers: Record<string, string> = {}) => json(await fetch(endpoint(token), { headers })),
    post: async (token: string, body: string, type = "application/json") =>
      json(await fetch(endpoint(token), { method: "POST", body, headers: { "content-type": type } })),
    /** Opens a session: the 410 answer and its token. */
    open: async () => {
      const answer = await json(await fetch(endpoint()));
      assert.equal(answer.status, 410);
      assert.ok(answer.token);
      return answer.token;
    },
  };
}

describe("LongPoll transport", () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({
      maxFrameBytes: 64 * 1024,
      longPoll: { windowMs: WINDOW_MS, sessionTimeoutMs: 2_000, maxBatchLines: 5 },
      authorize: ({ params }) => params.deny !== "yes",
    });
  });
  after(async () => {
    await harness.stop();
  });

  test("full cycle: 410 + token, POST, poll 200 with the echo, 204 after the window, same token throughout", async () => {
    const lp = client(harness);
    const res = await fetch(lp.endpoint());
    const text = await res.text();
    assert.match(text, /^\{"messages":\[\],"status":410,"token":"[^"]+"\}$/, "Phoenix key order");
    const token = (JSON.parse(text) as Answer).token!;
    const index = harness.connections.length - 1;
    const seen = await harness.connection(index);
    assert.equal(seen.connection.transport, "longpoll");
    assert.equal(seen.connection.serializer.format, "v2-text", "LongPoll gets the text-only serializer");

    const frame = '["1","1","rooms:lobby","phx_join",{"user":"lp"}]';
    assert.deepEqual(await lp.post(token, frame), { status: 200 });
    assert.deepEqual(await lp.get(token), { messages: [frame], status: 200, token });
    const started = Date.now();
    assert.deepEqual(await lp.get(token), { status: 204, token });
    assert.ok(Date.now() - started >= WINDOW_MS - 20, "an idle poll is held for the window");
    assert.equal(seen.frames[0], frame);
  });

  test("a waiting poll is answered as soon as a frame is written, several frames in one answer", async () => {
    const lp = client(harness);
    const token = await lp.open();
    const seen = await harness.connection(harness.connections.length - 1);
    const polled = lp.get(token);
    await new Promise((resolve) => setTimeout(resolve, 50));
    seen.connection.write("one");
    seen.connection.write("two");
    assert.deepEqual(await polled, { messages: ["one", "two"], status: 200, token });
  });

  test("ndjson batch with a base64 binary line; too many lines → 413; bad base64 → 400", async () => {
    const lp = client(harness);
    const token = await lp.open();
    const seen = await harness.connection(harness.connections.length - 1);
    const binary = Buffer.from([0, 1, 1, 7, 4, 0x31, 0x32, ...Buffer.from("phoenixping"), 0xfe]);
    const batch = ['[null,"3","phoenix","heartbeat",{}]', binary.toString("base64"), '["1","4","rooms:lobby","echo",{"batch":2}]'].join("\n");
    assert.deepEqual(await lp.post(token, batch, "application/x-ndjson"), { status: 200 });
    assert.equal(seen.frames.length, 3);
    assert.equal(seen.frames[0], '[null,"3","phoenix","heartbeat",{}]');
    assert.deepEqual(seen.frames[1], binary, "a base64 line is a binary frame");
    assert.equal(seen.frames[2], '["1","4","rooms:lobby","echo",{"batch":2}]');

    const sixLines = Array.from({ length: 6 }, (_, i) => `[null,"${i}","phoenix","heartbeat",{}]`).join("\n");
    assert.deepEqual(await lp.post(token, sixLines, "application/x-ndjson"), { status: 413 });
    assert.deepEqual(await lp.post(token, "[1]\nnot*base64!", "application/x-ndjson"), { status: 400 });
    assert.equal(seen.frames.length, 3, "refused batches deliver nothing");
  });

  test("V1 ndjson lines are text frames", async () => {
    const lp = client(harness, "1.0.0");
    const token = await lp.open();
    const seen = await harness.connection(harness.connections.length - 1);
    assert.equal(seen.connection.serializer.format, "v1");
    const lines = ['{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"1"}', '{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"2"}'];
    assert.deepEqual(await lp.post(token, lines.join("\n"), "application/x-ndjson"), { status: 200 });
    assert.deepEqual(seen.frames, lines);
  });

  test("oversized body → 413 (declared or streamed); the server keeps serving", async () => {
    const lp = client(harness);
    const token = await lp.open();
    assert.deepEqual(await lp.post(token, "x".repeat(64 * 1024 + 1)), { status: 413 });
    const streamed = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new Uint8Array(8 * 1024).fill(0x61));
        controller.close();
      },
    });
    const res = await fetch(lp.endpoint(token), { method: "POST", body: streamed, duplex: "half" } as RequestInit);
    assert.deepEqual(await res.json(), { status: 413 });
    assert.deepEqual(await lp.post(token, "[]"), { status: 200 });
  });

  test("forged, garbage, foreign and unknown tokens: GET → 410 with a new session, POST → 410", async () => {
    const lp = client(harness);
    const token = await lp.open();
    const [version, node, session, issued, mac] = token.split(".");
    const forged = [version, node, "A".repeat(session!.length), issued, mac].join(".");
    const otherNode = [version, Buffer.from("node-b").toString("base64url"), session, issued, mac].join(".");
    for (const bad of ["bogus", "", forged, otherNode, "1.....", "x".repeat(5000), "null"]) {
      const answer = await lp.get(bad);
      assert.equal(answer.status, 410, `GET token=${bad.slice(0, 20)}`);
      assert.deepEqual(answer.messages, []);
      assert.notEqual(answer.token, token);
      assert.deepEqual(await lp.post(bad, "[]"), { status: 410 }, `POST token=${bad.slice(0, 20)}`);
    }
  });

  test("the session token also travels in the X-Phoenix-Longpoll-Token header", async () => {
    const lp = client(harness);
    const token = await lp.open();
    const seen = await harness.connection(harness.connections.length - 1);
    seen.connection.write("via header");
    assert.deepEqual(await lp.get(undefined, { "x-phoenix-longpoll-token": token }), { messages: ["via header"], status: 200, token });
  });

  test("connection.close ends the session: the waiting poll is answered, later requests get 410", async () => {
    const lp = client(harness);
    const token = await lp.open();
    const seen = await harness.connection(harness.connections.length - 1);
    const polled = lp.get(token);
    await new Promise((resolve) => setTimeout(resolve, 50));
    seen.connection.close(CloseCode.SERVICE_RESTART, "draining");
    assert.equal((await polled).status, 410);
    assert.deepEqual(await seen.closed, { code: CloseCode.SERVICE_RESTART, reason: "draining" });
    assert.deepEqual(await lp.post(token, "[]"), { status: 410 });
    const reopened = await lp.get(token);
    assert.equal(reopened.status, 410);
    assert.notEqual(reopened.token, token);
  });

  test("connect params, Origin, CORS preflight, authorize, vsn and methods", async () => {
    const lp = client(harness);
    const before = harness.connections.length;
    const opened = await fetch(`${harness.url}/socket/longpoll?vsn=2.0.0&userToken=u1&token=app&token=null`, {
      headers: { "x-phoenix-authtoken": "bearer-1", origin: ALLOWED_ORIGIN },
    });
    assert.equal(opened.headers.get("access-control-allow-origin"), ALLOWED_ORIGIN);
    assert.equal(((await opened.json()) as Answer).status, 410);
    const seen = await harness.connection(before);
    assert.deepEqual({ ...seen.connection.params }, { userToken: "u1", token: "app", authToken: "bearer-1" });

    const preflight = await fetch(lp.endpoint(), {
      method: "OPTIONS",
      headers: { origin: ALLOWED_ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), ALLOWED_ORIGIN);
    assert.match(preflight.headers.get("access-control-allow-methods") ?? "", /POST/);
    assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /content-type/);

    assert.equal((await fetch(lp.endpoint(), { headers: { origin: "http://evil.test" } })).status, 403);
    assert.equal((await fetch(lp.endpoint(), { method: "OPTIONS", headers: { origin: "http://evil.test" } })).status, 403);
    assert.deepEqual(await (await fetch(`${lp.endpoint()}&deny=yes`)).json(), { status: 403 }, "connect refused: the stock client stops");
    assert.equal((await fetch(`${harness.url}/socket/longpoll?vsn=3.0.0`)).status, 403);
    const put = await fetch(lp.endpoint(), { method: "PUT", body: "x" });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get("allow"), "GET, POST, OPTIONS");
    assert.equal(harness.transport.connectionCount().longpoll > 0, true);
  });
});

describe("LongPoll session expiry", () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({ longPoll: { windowMs: 100, sessionTimeoutMs: 300, maxBatchLines: 100 } });
  });
  after(async () => {
    await harness.stop();
  });

  test("no poll for sessionTimeoutMs closes the session (close event), a polling session lives on", async () => {
    const lp = client(harness);
    const abandoned = await lp.open();
    const abandonedSeen = await harness.connection(0);
    const kept = await lp.open();
    const keptSeen = await harness.connection(1);
    let polling = true;
    const poller = (async () => {
      while (polling) assert.equal((await lp.get(kept)).status, 204);
    })();
    const started = Date.now();
    const closed = await within(abandonedSeen.closed, 3_000, "session expiry");
    assert.equal(closed.code, CloseCode.IDLE_TIMEOUT);
    assert.ok(Date.now() - started >= 250, "not before the session timeout");
    const reopened = await lp.get(abandoned);
    assert.equal(reopened.status, 410, "an expired session's token opens a new one");
    assert.notEqual(reopened.token, abandoned);
    await new Promise((resolve) => setTimeout(resolve, 500));
    polling = false;
    await poller;
    assert.equal(harness.connections.indexOf(keptSeen), 1);
    const keptState = await Promise.race([keptSeen.closed, new Promise((resolve) => setTimeout(() => resolve("open"), 10))]);
    assert.equal(keptState, "open", "a session that keeps polling stays open");
  });
});
