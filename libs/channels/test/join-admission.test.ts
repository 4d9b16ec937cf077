import assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import pino from "pino";
import { v2 } from "@switchboard/protocol";
import type { Frame } from "@switchboard/protocol";
import { ChannelSocket, createJoinAdmission, createRouter, ok, reply } from "../src/index.ts";
import type { ChannelHandler, JoinAdmission } from "../src/index.ts";

const PER_TURN = 8;
const SOCKETS = 10;
const JOINS_PER_SOCKET = 4;

/** Resolves after the timers of the current turn (a release) and the next turn's I/O and immediates. */
const nextTurn = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Many sockets of one node sharing one admission, as the gateway's sockets do; the handler records
 * which turn each join ran in. A turn ends with the check phase, where a node's corked writes and
 * batched Redis commands leave: an immediate re-armed in every check phase counts them.
 */
function node(t: TestContext, admission: JoinAdmission) {
  let turn = 0;
  let ticking = true;
  const tick = () => {
    turn += 1;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  t.after(() => (ticking = false));
  const joinsByTurn = new Map<number, string[]>();
  const handler: ChannelHandler = {
    join(topic) {
      joinsByTurn.set(turn, [...(joinsByTurn.get(turn) ?? []), topic]);
      return ok({});
    },
    handleIn: (event, payload) => reply("ok", payload),
  };
  const router = createRouter<ChannelHandler>().route("rooms:*", handler);
  const written = new Map<string, Frame[]>();
  const sockets = Array.from({ length: SOCKETS }, (_, i) => {
    const id = `s${i}`;
    written.set(id, []);
    return new ChannelSocket(
      { id, transport: "websocket", serializer: v2, params: {}, write: (frame) => written.get(id)!.push(frame), close: () => {} },
      {
        router,
        fanout: { subscribe: () => {}, unsubscribe: () => {}, broadcast: async () => {} },
        presence: { track: () => "ref", update: () => {}, untrack: () => {}, list: () => ({}) },
        logger: pino({ level: "silent" }),
        limits: { maxChannels: 100, maxTopicBytes: 255, maxEventBytes: 255, pushRatePerSecond: 0 },
        admission,
      },
    );
  });
  const replies = (id: string) => written.get(id)!.map((frame) => JSON.parse(frame as string) as unknown[]);
  /** Waits until no join is waiting, and one turn more. */
  const drain = async () => {
    for (let turns = 0; admission.queued > 0 && turns < 100; turns++) await nextTurn();
    await nextTurn();
  };
  return { sockets, joinsByTurn, replies, drain };
}

describe("join admission", () => {
  test(`a burst of joins from many sockets starts at most ${PER_TURN} per turn, in arrival order, and every join is answered`, async (t) => {
    const admission = createJoinAdmission(PER_TURN);
    const { sockets, joinsByTurn, replies, drain } = node(t, admission);
    const arrival: string[] = [];
    // One poll phase's worth of frames: every socket's joins arrive before any turn ends.
    for (let j = 0; j < JOINS_PER_SOCKET; j++) {
      for (const [i, socket] of sockets.entries()) {
        const topic = `rooms:${i}.${j}`;
        arrival.push(topic);
        socket.receive(JSON.stringify([String(j), String(j), topic, "phx_join", {}]));
      }
    }
    assert.equal(admission.queued, SOCKETS * JOINS_PER_SOCKET - PER_TURN);
    await drain();

    const batches = [...joinsByTurn.values()];
    assert.ok(batches.every((batch) => batch.length <= PER_TURN), `joins per turn: ${batches.map((batch) => batch.length).join(", ")}`);
    assert.ok(batches.length >= (SOCKETS * JOINS_PER_SOCKET) / PER_TURN);
    assert.deepEqual(batches.flat(), arrival);
    for (const [i] of sockets.entries()) {
      assert.deepEqual(
        replies(`s${i}`).map(([joinRef, , topic, event, body]) => [joinRef, topic, event, (body as { status: string }).status]),
        Array.from({ length: JOINS_PER_SOCKET }, (_, j) => [String(j), `rooms:${i}.${j}`, "phx_reply", "ok"]),
      );
    }
  });

  test("a push behind a waiting join on its topic is answered after the join; heartbeats are not held", async (t) => {
    const admission = createJoinAdmission(1);
    const { sockets, replies, drain } = node(t, admission);
    const [first, second] = sockets as [ChannelSocket, ChannelSocket];
    first.receive(JSON.stringify(["1", "1", "rooms:a", "phx_join", {}]));
    second.receive(JSON.stringify(["1", "1", "rooms:b", "phx_join", {}]));
    second.receive(JSON.stringify(["1", "2", "rooms:b", "echo", { n: 1 }]));
    second.receive(JSON.stringify([null, "3", "phoenix", "heartbeat", {}]));
    assert.deepEqual(replies("s1").map(([, ref]) => ref), ["3"], "the heartbeat answered while the join waits");
    await drain();
    assert.deepEqual(replies("s1").map(([, ref, topic, , body]) => [ref, topic, (body as { status: string }).status]), [
      ["3", "phoenix", "ok"],
      ["1", "rooms:b", "ok"],
      ["2", "rooms:b", "ok"],
    ]);
  });

  test("a waiting join of a socket that closed never runs", async (t) => {
    const admission = createJoinAdmission(1);
    const { sockets, joinsByTurn, replies, drain } = node(t, admission);
    const [first, second] = sockets as [ChannelSocket, ChannelSocket];
    first.receive(JSON.stringify(["1", "1", "rooms:a", "phx_join", {}]));
    second.receive(JSON.stringify(["1", "1", "rooms:b", "phx_join", {}]));
    second.closedByTransport();
    await drain();
    assert.deepEqual([...joinsByTurn.values()].flat(), ["rooms:a"]);
    assert.deepEqual(replies("s1"), []);
    assert.equal(second.channelCount, 0);
  });

  test("joins within the budget start at once, and the budget is a turn's", async (t) => {
    const admission = createJoinAdmission(2);
    const { sockets, joinsByTurn, drain } = node(t, admission);
    for (let turn = 0; turn < 3; turn++) {
      for (const [i, socket] of sockets.slice(0, 2).entries()) socket.receive(JSON.stringify(["1", "1", `rooms:${turn}.${i}`, "phx_join", {}]));
      assert.equal(admission.queued, 0);
      await nextTurn();
    }
    await drain();
    assert.deepEqual([...joinsByTurn.values()].map((batch) => batch.length), [2, 2, 2]);
  });
});
