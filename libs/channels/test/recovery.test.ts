import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { v2 } from "@switchboard/protocol";
import type { Frame } from "@switchboard/protocol";
import { ChannelSocket, createRouter, ok } from "../src/index.ts";
import type { ChannelHandler, HistoryReader, RecoveredMessage } from "../src/index.ts";

type Since = Awaited<ReturnType<HistoryReader["since"]>>;

/** A socket on `rooms:*` whose history read finishes when the test says so. */
function harness() {
  const written: Frame[] = [];
  let finishRead: (result: Since | Error) => void = () => undefined;
  let finishCatchUp: (result: RecoveredMessage[] | Error) => void = () => undefined;
  const reads: string[] = [];
  const history: HistoryReader = {
    records: (topic) => topic.startsWith("rooms:"),
    since(_topic, lastSeen) {
      reads.push(lastSeen);
      return new Promise((resolve, reject) => (finishRead = (result) => (result instanceof Error ? reject(result) : resolve(result))));
    },
    after(_topic, id) {
      reads.push(`after ${id}`);
      return new Promise((resolve, reject) => (finishCatchUp = (result) => (result instanceof Error ? reject(result) : resolve(result))));
    },
    isAfter: (id, than) => Number(id.split("-")[0]) > Number(than.split("-")[0]),
    idBefore: (timeMs) => `${timeMs - 1}-9999999999999999`,
  };
  const handler: ChannelHandler = { join: (topic) => ok({ joined: topic }) };
  const socket = new ChannelSocket(
    { id: "s1", transport: "websocket", serializer: v2, params: {}, write: (frame) => written.push(frame), close: () => undefined },
    {
      router: createRouter<ChannelHandler>().route("rooms:*", handler).route("lobby", handler),
      fanout: { subscribe: () => undefined, unsubscribe: () => undefined, broadcast: async () => undefined, subscriptionsSettled: async () => undefined },
      presence: { track: () => "ref", update: () => undefined, untrack: () => undefined, list: () => ({}) },
      logger: pino({ level: "silent" }),
      limits: { maxChannels: 100, maxTopicBytes: 255, maxEventBytes: 255, pushRatePerSecond: 0 },
      history,
    },
  );
  /** What the cluster does for a live recorded broadcast: offer it to intercept, else write the shared frame. */
  const live = (n: number, id: string) => {
    const broadcast = { topic: "rooms:a", event: "msg", payload: { n } };
    if (!socket.intercept(broadcast, id)) written.push(v2.encodePush({ joinRef: null, ref: id, ...broadcast }));
  };
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  const take = () => written.splice(0).map((frame) => JSON.parse(String(frame)) as unknown[]);
  const replayed = (n: number): RecoveredMessage => ({ id: `${n}-0`, event: "msg", payload: { n } });
  return {
    socket,
    live,
    settle,
    take,
    reads,
    replayed,
    finish: (result: Since | Error) => finishRead(result),
    finishCatchUp: (result: RecoveredMessage[] | Error) => finishCatchUp(result),
  };
}

test("rejoin with last_seen: join reply, then the replay, then live broadcasts held meanwhile, none twice", async () => {
  const h = harness();
  h.socket.receive(JSON.stringify(["1", "1", "rooms:a", "phx_join", { last_seen: "3-0" }]));
  await h.settle();
  assert.deepEqual(h.reads, ["3-0"]);
  h.live(5, "5-0"); // recorded before the read: also in the replay
  h.live(6, "6-0"); // recorded after it
  assert.deepEqual(h.take(), [], "nothing goes out while history is read");
  h.finish({ recovered: true, messages: [h.replayed(4), h.replayed(5)] });
  await h.settle();
  h.live(5, "5-0"); // a duplicate still on its way from the publisher
  h.live(7, "7-0");
  assert.deepEqual(h.take(), [
    ["1", "1", "rooms:a", "phx_reply", { response: { joined: "rooms:a", recovered: true }, status: "ok" }],
    [null, "4-0", "rooms:a", "msg", { n: 4 }],
    [null, "5-0", "rooms:a", "msg", { n: 5 }],
    [null, "6-0", "rooms:a", "msg", { n: 6 }],
    [null, "7-0", "rooms:a", "msg", { n: 7 }],
  ]);
});

test("history unreachable: the join still succeeds with recovered: false and held live broadcasts follow", async () => {
  const h = harness();
  h.socket.receive(JSON.stringify(["1", "1", "rooms:a", "phx_join", { last_seen: "3-0" }]));
  await h.settle();
  h.live(9, "9-0");
  h.finish(new Error("redis down"));
  await h.settle();
  assert.deepEqual(h.take(), [
    ["1", "1", "rooms:a", "phx_reply", { response: { joined: "rooms:a", recovered: false }, status: "ok" }],
    [null, "9-0", "rooms:a", "msg", { n: 9 }],
  ]);
});

test("a join without last_seen reads no history and its reply is the handler's own", async () => {
  const h = harness();
  h.socket.receive(JSON.stringify(["1", "1", "rooms:a", "phx_join", {}]));
  await h.settle();
  h.live(1, "1-0");
  assert.deepEqual(h.reads, []);
  assert.deepEqual(h.take(), [
    ["1", "1", "rooms:a", "phx_reply", { response: { joined: "rooms:a" }, status: "ok" }],
    [null, "1-0", "rooms:a", "msg", { n: 1 }],
  ]);
});

test("subscriptions lost and back: the channel replays what it missed after its last id, then the held live ones, none twice", async () => {
  const h = harness();
  h.socket.receive(JSON.stringify(["1", "1", "rooms:a", "phx_join", {}]));
  await h.settle();
  h.live(1, "1-0");
  h.socket.suspend();
  h.live(4, "4-0"); // arrives as soon as the subscription is back, before the catch-up read
  const resumed = h.socket.resume();
  await h.settle();
  assert.deepEqual(h.reads, ["after 1-0"]);
  h.live(5, "5-0");
  h.finishCatchUp([h.replayed(2), h.replayed(3), h.replayed(4)]);
  await resumed;
  h.live(4, "4-0"); // a duplicate still on its way
  h.live(6, "6-0");
  // refs: the join reply's, then each broadcast's history id
  assert.deepEqual(h.take().map((frame) => frame[1]), ["1", "1-0", "2-0", "3-0", "4-0", "5-0", "6-0"]);
});

test("a channel that got nothing recorded before the outage catches up from its join time; history down leaves it live", async () => {
  const h = harness();
  const before = Date.now();
  h.socket.receive(JSON.stringify(["1", "1", "rooms:a", "phx_join", {}]));
  await h.settle();
  h.socket.suspend();
  h.live(7, "7-0");
  const resumed = h.socket.resume();
  await h.settle();
  const from = Number(h.reads[0]!.split(" ")[1]!.split("-")[0]);
  assert.ok(from >= before - 1 && from <= Date.now(), `catch-up from the join time, got ${h.reads[0]}`);
  h.finishCatchUp(new Error("redis down"));
  await resumed;
  assert.deepEqual(h.take().map((frame) => frame[1]), ["1", "7-0"]);
});

test("topics without history are never held by an outage", async () => {
  const h = harness();
  h.socket.receive(JSON.stringify(["1", "1", "lobby", "phx_join", {}]));
  await h.settle();
  h.socket.suspend();
  const broadcast = { topic: "lobby", event: "msg", payload: {} };
  assert.equal(h.socket.intercept(broadcast), false, "delivered live, not held");
  await h.socket.resume();
  assert.deepEqual(h.reads, []);
});
