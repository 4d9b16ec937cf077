import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { v2, type Broadcast, type Frame } from "@switchboard/protocol";
import type { Member } from "../src/api.ts";
import { DeliveryEncoder, MemberSocket } from "../src/delivery.ts";
import { packetOf } from "../src/envelope.ts";

function member(id: string, intercepts: boolean) {
  const written: Frame[] = [];
  const offered: Broadcast[] = [];
  const value: Member = {
    id,
    serializer: v2,
    write: (frame) => written.push(frame),
    intercept: (broadcast) => (offered.push(broadcast), intercepts),
  };
  return { socket: new MemberSocket(value), written, offered };
}

function deliver(mayIntercept: ((event: string, historyId: string | undefined) => boolean) | undefined, historyId?: string) {
  const asked: Array<[string, string | undefined]> = [];
  const gate = mayIntercept && ((event: string, id: string | undefined) => (asked.push([event, id]), mayIntercept(event, id)));
  const encoder = new DeliveryEncoder({ localDeliveries: 0, deliveryErrors: 0, malformed: 0 }, pino({ level: "silent" }), gate);
  const broadcast: Broadcast = { topic: "rooms:a", event: "msg", payload: { n: 1 } };
  const deliveries = encoder.encode(packetOf(historyId === undefined ? { kind: "broadcast", broadcast } : { kind: "broadcast", broadcast, historyId }));
  const members = [member("a", false), member("b", true)];
  for (const { socket } of members) socket.writeToEngine(deliveries);
  return { asked, members };
}

test("a broadcast no member here can intercept is written to every member without asking each", () => {
  const { asked, members } = deliver(() => false);
  assert.deepEqual(asked, [["msg", undefined]], "asked once per broadcast");
  assert.deepEqual(members.map((m) => m.offered.length), [0, 0]);
  assert.deepEqual(members.map((m) => m.written.length), [1, 1]);
});

test("a broadcast some member may intercept is offered to each; the one that takes it gets no shared frame", () => {
  const { asked, members } = deliver(() => true, "7-0");
  assert.deepEqual(asked, [["msg", "7-0"]]);
  assert.deepEqual(members.map((m) => m.offered.length), [1, 1]);
  assert.deepEqual(members.map((m) => m.written.length), [1, 0]);
});

test("without a gate every member is offered every broadcast", () => {
  const { members } = deliver(undefined);
  assert.deepEqual(members.map((m) => m.offered.length), [1, 1]);
});
