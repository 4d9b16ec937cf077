import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import pino from "pino";
import type { BroadcastOptions } from "@switchboard/cluster";
import type { Broadcast } from "@switchboard/protocol";
import { createForwarder, MAX_IN_FLIGHT_PER_TOPIC } from "../src/forwarder.ts";

type CommandKind = "append" | "find" | "publish";

interface HeldCommand {
  readonly kind: CommandKind;
  /** Runs the command in "Redis" (its effect) and returns its answer. */
  run(): unknown;
  resolve(answer: unknown): void;
  reject(error: Error): void;
}

/**
 * Redis as the forwarder sees it, one connection: commands run in the order they were sent.
 * Answered at once, or (`hold`) kept until the test answers them; while the connection is down
 * every command fails; `crash` fails every held command after running the first few of them
 * (their answers lost).
 */
function harness(options: { retryWindowMs?: number; hold?: boolean } = {}) {
  const redis = Object.assign(new EventEmitter(), { status: "ready" });
  const stream: Array<{ id: string; payload: unknown; key?: string }> = [];
  const published: Array<{ payload: unknown; historyId?: string }> = [];
  const held: HeldCommand[] = [];
  const sent: CommandKind[] = [];
  let holding = options.hold ?? false;
  const down = () => new Error("Connection is closed");

  const send = <T>(kind: CommandKind, run: () => T): Promise<T> => {
    sent.push(kind);
    if (redis.status !== "ready") return Promise.reject(down());
    if (!holding) return Promise.resolve().then(run);
    return new Promise<T>((resolve, reject) => held.push({ kind, run, resolve: resolve as (answer: unknown) => void, reject }));
  };

  const publish = (broadcast: Broadcast, broadcastOptions: BroadcastOptions | undefined) =>
    send("publish", () => {
      published.push({ payload: broadcast.payload, historyId: broadcastOptions?.historyId });
      return true;
    }).catch(() => false);

  const forwarder = createForwarder({
    history: {
      accepts: (topic, payload) => topic.startsWith("kept:") && !(payload instanceof Uint8Array),
      append: (_topic, _event, payload, messageKey) =>
        send("append", () => {
          const id = `${stream.length + 1}-0`;
          stream.push({ id, payload, key: messageKey });
          return id;
        }),
      findAppended: (_topic, messageKey) => send("find", () => stream.find((entry) => entry.key === messageKey)?.id),
    },
    holder: "bridge-test",
    cluster: {
      broadcast: (broadcast: Broadcast, broadcastOptions) => publish(broadcast, broadcastOptions),
      broadcastWithCallback: (broadcast, broadcastOptions, answered, context) => void publish(broadcast, broadcastOptions).then((sent) => answered(sent, context)),
    },
    redis,
    logger: pino({ level: "silent" }),
    retryWindowMs: options.retryWindowMs ?? 5_000,
  });

  return {
    redis,
    stream,
    published,
    forwarder,
    /** Every command sent so far, answered or not. */
    sent,
    held: () => held.map((command) => command.kind),
    /** Answers the oldest held commands, in order, as Redis would. */
    async answer(count = held.length) {
      for (const command of held.splice(0, count)) command.resolve(command.run());
      await settleMicrotasks();
    },
    async crash(ranBeforeCrash: number) {
      const lost = held.splice(0);
      lost.slice(0, ranBeforeCrash).forEach((command) => command.run());
      redis.status = "reconnecting";
      for (const command of lost) command.reject(down());
      await settleMicrotasks();
    },
    hold() {
      holding = true;
    },
    back() {
      holding = false;
      redis.status = "ready";
      redis.emit("ready");
    },
    async settled() {
      for (let waited = 0; forwarder.pending > 0; waited += 5) {
        assert.ok(waited < 3_000, `still ${forwarder.pending} messages pending`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
  };
}

/** The retry waits for Redis on a timer: held commands show up a little later. */
async function eventuallyHeld(h: ReturnType<typeof harness>, expected: string[]) {
  for (let waited = 0; h.held().join() !== expected.join(); waited += 5) {
    assert.ok(waited < 2_000, `held ${JSON.stringify(h.held())}, expected ${JSON.stringify(expected)}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const settleMicrotasks = () => new Promise((resolve) => setImmediate(resolve));
const message = (topic: string, n: number): Broadcast => ({ topic, event: "tick", payload: { n } });
const numbers = (entries: Array<{ payload: unknown }>) => entries.map(({ payload }) => (payload instanceof Uint8Array ? "bin" : (payload as { n: number }).n));

test("a topic's messages do not wait for each other's answers: all appends leave before the first answer, publishes in read order", async () => {
  const h = harness({ hold: true });
  for (let n = 1; n <= 10; n++) h.forwarder.forward(message("kept:a", n));
  assert.deepEqual(h.held(), Array(10).fill("append"), "every append sent before Redis answered one");
  await h.answer();
  assert.deepEqual(h.held(), Array(10).fill("publish"));
  await h.answer();
  assert.deepEqual(numbers(h.published), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(
    h.published.map(({ historyId }) => historyId),
    h.stream.map(({ id }) => id),
  );
  assert.equal(h.forwarder.pending, 0);
});

test("a publish leaves only after every earlier message's publish did, recorded or not", async () => {
  const h = harness({ hold: true });
  h.forwarder.forward(message("kept:a", 1));
  h.forwarder.forward({ topic: "kept:a", event: "tick", payload: Buffer.from([1]) });
  h.forwarder.forward(message("plain", 1));
  // the binary message is not recorded, but must not overtake the append before it; another topic does not wait
  assert.deepEqual(h.held(), ["append", "publish"]);
  await h.answer(1);
  assert.deepEqual(h.held(), ["publish", "publish", "publish"]);
  await h.answer();
  assert.deepEqual(numbers(h.published), [1, 1, "bin"]);
});

test("a hot topic keeps at most MAX_IN_FLIGHT_PER_TOPIC messages unanswered; the rest follow as answers come", async () => {
  const h = harness({ hold: true });
  const count = MAX_IN_FLIGHT_PER_TOPIC + 8;
  for (let n = 1; n <= count; n++) h.forwarder.forward(message("kept:a", n));
  assert.equal(h.held().length, MAX_IN_FLIGHT_PER_TOPIC);
  while (h.held().length > 0) await h.answer();
  assert.deepEqual(numbers(h.published), Array.from({ length: count }, (_, index) => index + 1));
});

test("messages that fail together are retried in read order: each append found or written once, none published before an earlier one", async () => {
  const h = harness({ hold: true });
  for (let n = 1; n <= 5; n++) h.forwarder.forward(message("kept:a", n));
  await h.answer(1); // append 1 answered: publish 1 sent behind appends 2–5
  assert.deepEqual(h.held(), ["append", "append", "append", "append", "publish"]);
  await h.crash(2); // appends 2 and 3 ran, their answers lost; 4, 5 and publish 1 never ran
  h.forwarder.forward(message("kept:a", 6)); // read during the outage: waits behind them
  h.forwarder.forward(message("plain", 1)); // another topic fails on its own
  assert.deepEqual(h.published, []);
  h.back();
  await h.settled();
  assert.deepEqual(numbers(h.stream), [1, 2, 3, 4, 5, 6], "each message in history once, in order");
  assert.deepEqual(numbers(h.published), [1, 2, 3, 4, 5, 6, 1]);
  assert.deepEqual(
    h.published.slice(0, 6).map(({ historyId }) => historyId),
    h.stream.map(({ id }) => id),
  );
  assert.deepEqual(h.forwarder.stats, { retried: 7, dropped: 0 });
});

test("once a failed topic has caught up, its messages go out without waiting for each other again", async () => {
  const h = harness({ hold: true });
  h.forwarder.forward(message("plain", 1));
  await h.crash(0);
  h.back();
  await h.settled();
  h.hold();
  for (let n = 2; n <= 4; n++) h.forwarder.forward(message("plain", n));
  assert.deepEqual(h.held(), ["publish", "publish", "publish"]);
  await h.answer();
  assert.deepEqual(numbers(h.published), [1, 2, 3, 4]);
  assert.deepEqual(h.forwarder.stats, { retried: 1, dropped: 0 });
});

test("after a failure, once Redis took a retried message and no append is left to look for, the rest go out pipelined", async () => {
  const h = harness({ hold: true });
  for (let n = 1; n <= 3; n++) h.forwarder.forward(message("kept:a", n));
  await h.crash(0); // appends 1–3 sent, none ran: each is looked for before it is written again
  for (let n = 4; n <= 8; n++) h.forwarder.forward(message("kept:a", n)); // never sent
  h.back();
  h.hold();
  for (const expected of [["find"], ["append"], ["publish"], ["find"], ["append"], ["publish"], ["find"], ["append"], ["publish"]]) {
    await eventuallyHeld(h, expected);
    await h.answer();
  }
  // 3 was the last append that might have landed: 4–8 leave together again
  await eventuallyHeld(h, Array(5).fill("append"));
  while (h.held().length > 0) await h.answer();
  await h.settled();
  assert.deepEqual(numbers(h.published), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(numbers(h.stream), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(h.forwarder.stats, { retried: 8, dropped: 0 });
});

test("messages that arrive while Redis is away wait for it and go out once, in order, with their history ids", async () => {
  const h = harness();
  h.redis.status = "reconnecting";
  for (const n of [1, 2, 3]) h.forwarder.forward(message("kept:a", n));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(h.published, []);
  h.back();
  await h.settled();
  assert.deepEqual(h.published, [
    { payload: { n: 1 }, historyId: "1-0" },
    { payload: { n: 2 }, historyId: "2-0" },
    { payload: { n: 3 }, historyId: "3-0" },
  ]);
  assert.deepEqual(h.forwarder.stats, { retried: 3, dropped: 0 });
});

test("an append Redis ran but never answered is found again, not written twice", async () => {
  const h = harness({ hold: true });
  h.forwarder.forward(message("kept:a", 1));
  await h.crash(1);
  h.back();
  await h.settled();
  assert.equal(h.stream.length, 1);
  assert.deepEqual(h.published, [{ payload: { n: 1 }, historyId: "1-0" }]);
  assert.ok(h.sent.includes("find"));
});

test("topics without history are published as they are, and a Redis that never returns costs the message after the window", async () => {
  const h = harness({ retryWindowMs: 50 });
  h.forwarder.forward(message("plain", 1));
  await h.settled();
  h.redis.status = "reconnecting";
  h.forwarder.forward(message("plain", 2));
  await h.settled();
  assert.deepEqual(h.published, [{ payload: { n: 1 }, historyId: undefined }]);
  assert.deepEqual(h.forwarder.stats, { retried: 0, dropped: 1 });
});
