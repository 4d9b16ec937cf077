import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { v2 } from "@switchboard/protocol";
import { ChannelSocket, createInterception, createRouter, ok } from "../src/index.ts";
import type { ChannelHandler, HistoryReader, RecoveredMessage } from "../src/index.ts";

type Since = Awaited<ReturnType<HistoryReader["since"]>>;

/** Sockets of one node sharing an Interception: `rooms:*` is recorded, `shouts:*` intercepts "shout". */
function node() {
  const interception = createInterception();
  let finishRead: (result: Since) => void = () => undefined;
  let finishCatchUp: (result: RecoveredMessage[]) => void = () => undefined;
  const history: HistoryReader = {
    records: (topic) => topic.startsWith("rooms:"),
    since: () => new Promise((resolve) => (finishRead = resolve)),
    after: () => new Promise((resolve) => (finishCatchUp = resolve)),
    isAfter: (id, than) => Number(id.split("-")[0]) > Number(than.split("-")[0]),
    idBefore: (timeMs) => `${timeMs - 1}-0`,
  };
  const plain: ChannelHandler = { join: () => ok() };
  const shouting: ChannelHandler = { join: () => ok(), intercept: ["shout"], handleOut: (_event, payload) => payload };
  const options = {
    router: createRouter<ChannelHandler>().route("rooms:*", plain).route("shouts:*", shouting).route("lobby", { ...plain, intercept: ["shout"] }),
    fanout: { subscribe: () => undefined, unsubscribe: () => undefined, broadcast: async () => undefined, subscriptionsSettled: async () => undefined },
    presence: { track: () => "ref", update: () => undefined, untrack: () => undefined, list: () => ({}) },
    logger: pino({ level: "silent" }),
    limits: { maxChannels: 100, maxTopicBytes: 255, maxEventBytes: 255, pushRatePerSecond: 0 },
    history,
    interception,
  };
  const socket = (id: string) =>
    new ChannelSocket({ id, transport: "websocket", serializer: v2, params: {}, write: () => undefined, close: () => undefined }, options);
  const join = (target: ChannelSocket, topic: string, payload: object = {}) => target.receive(JSON.stringify(["1", "1", topic, "phx_join", payload]));
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { interception, socket, join, settle, finish: (result: Since) => finishRead(result), finishCatchUp: (result: RecoveredMessage[]) => finishCatchUp(result) };
}

test("a broadcast is offered to members only for events a joined handler routes through handleOut", async () => {
  const n = node();
  const socket = n.socket("s1");
  assert.equal(n.interception.mayIntercept("shout", undefined), false);
  n.join(socket, "lobby"); // lists the event but has no handleOut: nothing to intercept
  n.join(socket, "rooms:a");
  await n.settle();
  assert.equal(n.interception.mayIntercept("shout", undefined), false);
  n.join(socket, "shouts:a");
  await n.settle();
  assert.equal(n.interception.mayIntercept("shout", undefined), true);
  assert.equal(n.interception.mayIntercept("msg", undefined), false);
  assert.equal(n.interception.mayIntercept("msg", "5-0"), true, "recorded broadcasts are always offered (repeat drop)");
});

test("a broadcast is offered to members while a channel holds live broadcasts for its replay, not after", async () => {
  const n = node();
  const socket = n.socket("s1");
  n.join(socket, "rooms:a", { last_seen: "3-0" });
  await n.settle();
  assert.equal(n.interception.mayIntercept("msg", undefined), true);
  n.finish({ recovered: true, messages: [] });
  await n.settle();
  assert.equal(n.interception.mayIntercept("msg", undefined), false);
});

test("a channel holding during an outage is offered broadcasts until its catch-up, or until its socket closes", async () => {
  const n = node();
  const [first, second] = [n.socket("s1"), n.socket("s2")];
  n.join(first, "rooms:a");
  n.join(second, "rooms:b");
  await n.settle();
  first.suspend();
  second.suspend();
  assert.equal(n.interception.mayIntercept("msg", undefined), true);
  second.closedByTransport();
  assert.equal(n.interception.mayIntercept("msg", undefined), true, "the other socket still holds");
  const resumed = first.resume();
  await n.settle();
  n.finishCatchUp([]);
  await resumed;
  assert.equal(n.interception.mayIntercept("msg", undefined), false);
});
