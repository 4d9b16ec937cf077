import assert from "node:assert/strict";
import { describe, test } from "node:test";
import pino from "pino";
import { v2 } from "@switchboard/protocol";
import type { Broadcast, Frame } from "@switchboard/protocol";
import { ChannelSocket, createRouter, noreply, ok, reply, error } from "../src/index.ts";
import type { Channel, ChannelHandler, Fanout, PresenceTracker } from "../src/index.ts";

/**
 * The state machine against in-memory ports (the cluster and presence libs have their own
 * suites): frames in, frames out, exactly as the reference transcript orders them.
 */
function harness(handler: ChannelHandler, limits: Partial<{ maxChannels: number; pushRatePerSecond: number }> = {}) {
  const written: Frame[] = [];
  const closes: number[] = [];
  const subscriptions = new Set<string>();
  const broadcasts: Array<{ broadcast: Broadcast; except?: string }> = [];
  const fanout: Fanout = {
    subscribe: (_id, topic) => subscriptions.add(topic),
    unsubscribe: (_id, topic) => subscriptions.delete(topic),
    async broadcast(broadcast, options) {
      broadcasts.push({ broadcast, except: options?.exceptMemberId });
      if (subscriptions.has(broadcast.topic) && options?.exceptMemberId !== "s1") socket.intercept(broadcast) || written.push(v2.encodeBroadcast(broadcast));
    },
  };
  const tracked = new Map<string, string>();
  const presence: PresenceTracker = {
    track: (topic, _id, key) => (tracked.set(topic, key), "ref"),
    update: () => {},
    untrack: (topic) => tracked.delete(topic),
    list: () => ({}),
  };
  const router = createRouter<ChannelHandler>().route("rooms:*", handler);
  const socket = new ChannelSocket(
    { id: "s1", transport: "websocket", serializer: v2, params: {}, write: (f) => written.push(f), close: (code) => closes.push(code) },
    {
      router,
      fanout,
      presence,
      logger: pino({ level: "silent" }),
      limits: { maxChannels: 100, maxTopicBytes: 255, maxEventBytes: 255, pushRatePerSecond: 0, ...limits },
    },
  );
  const send = (frame: unknown[]) => socket.receive(JSON.stringify(frame));
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  const take = () => written.splice(0).map((f) => (typeof f === "string" ? JSON.parse(f) : f));
  return { socket, send, settle, take, closes, subscriptions, tracked, broadcasts };
}

const rooms: ChannelHandler = {
  join: (topic, payload) => ((payload as { deny?: boolean }).deny ? error({ reason: "unauthorized" }) : ok({ joined: topic })),
  afterJoin: (channel) => {
    channel.presence.track("u", {});
  },
  async handleIn(event, payload, channel) {
    if (event === "echo") return reply("ok", payload);
    if (event === "shout") {
      await channel.broadcastFrom("shout", payload);
      return noreply;
    }
    throw new Error("boom");
  },
};

describe("ChannelSocket", () => {
  test("heartbeat, join, echo, leave with phx_close, leave of an unjoined topic", async () => {
    const h = harness(rooms);
    h.send([null, "1", "phoenix", "heartbeat", {}]);
    h.send(["2", "2", "rooms:a", "phx_join", {}]);
    await h.settle();
    h.send(["2", "3", "rooms:a", "echo", { x: 1 }]);
    await h.settle();
    h.send(["2", "4", "rooms:a", "phx_leave", {}]);
    h.send(["9", "9", "rooms:never", "phx_leave", {}]);
    await h.settle();
    assert.deepEqual(h.take(), [
      [null, "1", "phoenix", "phx_reply", { response: {}, status: "ok" }],
      ["2", "2", "rooms:a", "phx_reply", { response: { joined: "rooms:a" }, status: "ok" }],
      ["2", "3", "rooms:a", "phx_reply", { response: { x: 1 }, status: "ok" }],
      ["2", "4", "rooms:a", "phx_reply", { response: {}, status: "ok" }],
      ["2", "2", "rooms:a", "phx_close", {}],
      ["9", "9", "rooms:never", "phx_reply", { response: {}, status: "ok" }],
    ]);
    assert.equal(h.subscriptions.size, 0);
    assert.equal(h.tracked.size, 0, "presence untracked on leave");
  });

  test("refused join, unmatched topic, push to an unjoined topic", async () => {
    const h = harness(rooms);
    h.send(["1", "1", "rooms:s", "phx_join", { deny: true }]);
    await h.settle();
    h.send(["2", "2", "nomatch:x", "phx_join", {}]);
    h.send(["3", "3", "rooms:nj", "echo", {}]);
    await h.settle();
    assert.deepEqual(h.take(), [
      ["1", "1", "rooms:s", "phx_reply", { response: { reason: "unauthorized" }, status: "error" }],
      [null, "2", "nomatch:x", "phx_reply", { response: { reason: "unmatched topic" }, status: "error" }],
      [null, "3", "rooms:nj", "phx_reply", { response: { reason: "unmatched topic" }, status: "error" }],
    ]);
  });

  test("duplicate join: new reply, then phx_close of the old join_ref; stale join_ref dropped", async () => {
    const h = harness(rooms);
    h.send(["1", "1", "rooms:a", "phx_join", {}]);
    await h.settle();
    h.send(["20", "20", "rooms:a", "phx_join", {}]);
    await h.settle();
    h.send(["1", "21", "rooms:a", "echo", { old: true }]);
    h.send(["20", "22", "rooms:a", "echo", { new: true }]);
    h.send([null, "23", "rooms:a", "echo", { v1: true }]);
    await h.settle();
    assert.deepEqual(h.take().slice(1), [
      ["20", "20", "rooms:a", "phx_reply", { response: { joined: "rooms:a" }, status: "ok" }],
      ["1", "1", "rooms:a", "phx_close", {}],
      ["20", "22", "rooms:a", "phx_reply", { response: { new: true }, status: "ok" }],
      ["20", "23", "rooms:a", "phx_reply", { response: { v1: true }, status: "ok" }],
    ]);
  });

  test("a crash closes that channel only, with phx_error", async () => {
    const h = harness(rooms);
    h.send(["1", "1", "rooms:a", "phx_join", {}]);
    h.send(["2", "2", "rooms:b", "phx_join", {}]);
    await h.settle();
    h.take();
    h.send(["1", "3", "rooms:a", "nope", {}]);
    await h.settle();
    h.send(["2", "4", "rooms:b", "echo", { up: 1 }]);
    await h.settle();
    assert.deepEqual(h.take(), [
      ["1", "1", "rooms:a", "phx_error", { reason: "channel_crash" }],
      ["2", "4", "rooms:b", "phx_reply", { response: { up: 1 }, status: "ok" }],
    ]);
    assert.deepEqual([...h.subscriptions], ["rooms:b"]);
  });

  test("malformed frames close with 1011; channel limit; rate limit", async () => {
    const h = harness(rooms, { maxChannels: 1, pushRatePerSecond: 1 });
    h.send(["1", "1", "rooms:a", "phx_join", {}]);
    h.send(["2", "2", "rooms:b", "phx_join", {}]);
    await h.settle();
    for (let i = 0; i < 3; i++) h.send(["1", `e${i}`, "rooms:a", "echo", {}]);
    await h.settle();
    const frames = h.take();
    assert.deepEqual(frames.find((f) => f[2] === "rooms:b"), ["2", "2", "rooms:b", "phx_reply", { response: { reason: "too many channels" }, status: "error" }]);
    assert.deepEqual(frames.at(-1), ["1", "e2", "rooms:a", "phx_reply", { response: { reason: "rate limited" }, status: "error" }]);
    h.socket.receive("{not json");
    assert.deepEqual(h.closes, [1011]);
  });

  test("broadcast_from goes out with the sender excluded; intercept routes through handleOut", async () => {
    const intercepting: ChannelHandler = {
      ...rooms,
      intercept: ["shout"],
      handleOut: (_event, payload) => ({ ...(payload as object), filtered: true }),
    };
    const h = harness(intercepting);
    h.send(["1", "1", "rooms:a", "phx_join", {}]);
    await h.settle();
    h.take();
    assert.equal(h.socket.intercept({ topic: "rooms:a", event: "shout", payload: { a: 1 } }), true);
    assert.equal(h.socket.intercept({ topic: "rooms:a", event: "other", payload: {} }), false);
    assert.deepEqual(h.take(), [["1", null, "rooms:a", "shout", { a: 1, filtered: true }]]);
    h.send(["1", "2", "rooms:a", "shout", { x: 1 }]);
    await h.settle();
    assert.deepEqual(h.broadcasts.at(-1), { broadcast: { topic: "rooms:a", event: "shout", payload: { x: 1 } }, except: "s1" });
  });

  test("presence calls of a channel that is gone do nothing: no stale entry, no untrack of its replacement", async () => {
    let release: () => void = () => {};
    const slowTracker: ChannelHandler = {
      join: () => ok({}),
      async afterJoin(channel) {
        await new Promise<void>((resolve) => (release = resolve));
        assert.equal(channel.presence.track("late", {}), undefined);
      },
    };
    const h = harness(slowTracker);
    h.send(["1", "1", "rooms:a", "phx_join", {}]);
    await h.settle();
    h.socket.closedByTransport();
    release();
    await h.settle();
    assert.equal(h.tracked.size, 0, "a track after the socket closed leaves no entry");

    const joined: Channel[] = [];
    const h2 = harness({
      join: () => ok({}),
      afterJoin: (channel) => {
        joined.push(channel);
        channel.presence.track("u", {});
      },
    });
    h2.send(["1", "1", "rooms:b", "phx_join", {}]);
    await h2.settle();
    h2.send(["2", "2", "rooms:b", "phx_join", {}]);
    await h2.settle();
    assert.equal(h2.tracked.get("rooms:b"), "u");
    joined[0]!.presence.untrack();
    assert.equal(h2.tracked.get("rooms:b"), "u", "the replaced channel's untrack keeps its successor's entry");
  });
});
