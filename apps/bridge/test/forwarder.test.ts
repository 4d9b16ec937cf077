import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import pino from "pino";
import type { Broadcast } from "@switchboard/protocol";
import { createForwarder } from "../src/forwarder.ts";

/** Redis as the forwarder sees it: a status and a `ready` event; every command fails while it is down. */
function harness(options: { appendWrittenDespiteError?: boolean; retryWindowMs?: number } = {}) {
  const redis = Object.assign(new EventEmitter(), { status: "ready" });
  const stream: Array<{ id: string; payload: unknown; key?: string }> = [];
  const published: Array<{ payload: unknown; historyId?: string }> = [];
  let failNextAppendAfterWriting = options.appendWrittenDespiteError ?? false;
  const forwarder = createForwarder({
    history: {
      accepts: (topic, payload) => topic.startsWith("kept:") && !(payload instanceof Uint8Array),
      async append(_topic, _event, payload, messageKey) {
        if (redis.status !== "ready") throw new Error("Connection is closed");
        const id = `${stream.length + 1}-0`;
        stream.push({ id, payload, key: messageKey });
        if (failNextAppendAfterWriting) {
          failNextAppendAfterWriting = false;
          redis.status = "reconnecting";
          throw new Error("Connection is closed"); // ran, answer lost
        }
        return id;
      },
      async findAppended(_topic, messageKey) {
        if (redis.status !== "ready") throw new Error("Connection is closed");
        return stream.find((entry) => entry.key === messageKey)?.id;
      },
    },
    holder: "bridge-test",
    cluster: {
      async broadcast(broadcast: Broadcast, broadcastOptions) {
        if (redis.status !== "ready") return false;
        published.push({ payload: broadcast.payload, historyId: broadcastOptions?.historyId });
        return true;
      },
    },
    redis,
    logger: pino({ level: "silent" }),
    retryWindowMs: options.retryWindowMs ?? 5_000,
  });
  const back = () => {
    redis.status = "ready";
    redis.emit("ready");
  };
  return { redis, stream, published, forwarder, back };
}

const message = (topic: string, n: number): Broadcast => ({ topic, event: "tick", payload: { n } });

test("messages that arrive while Redis is away wait for it and go out once, in order, with their history ids", async () => {
  const h = harness();
  h.redis.status = "reconnecting";
  const sends = [1, 2, 3].map((n) => h.forwarder.forward(message("kept:a", n)));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(h.published, []);
  h.back();
  await Promise.all(sends);
  assert.deepEqual(h.published, [
    { payload: { n: 1 }, historyId: "1-0" },
    { payload: { n: 2 }, historyId: "2-0" },
    { payload: { n: 3 }, historyId: "3-0" },
  ]);
  // 2 and 3 wait behind 1 (order per topic), so only 1 itself was retried
  assert.deepEqual(h.forwarder.stats, { retried: 1, dropped: 0 });
});

test("an append Redis ran but never answered is found again, not written twice", async () => {
  const h = harness({ appendWrittenDespiteError: true });
  const sent = h.forwarder.forward(message("kept:a", 1));
  await new Promise((resolve) => setTimeout(resolve, 20));
  h.back();
  await sent;
  assert.equal(h.stream.length, 1);
  assert.deepEqual(h.published, [{ payload: { n: 1 }, historyId: "1-0" }]);
});

test("topics without history are published as they are, and a Redis that never returns costs the message after the window", async () => {
  const h = harness({ retryWindowMs: 50 });
  await h.forwarder.forward(message("plain", 1));
  h.redis.status = "reconnecting";
  await h.forwarder.forward(message("plain", 2));
  assert.deepEqual(h.published, [{ payload: { n: 1 }, historyId: undefined }]);
  assert.deepEqual(h.forwarder.stats, { retried: 0, dropped: 1 });
});
