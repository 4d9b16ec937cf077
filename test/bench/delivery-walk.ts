/**
 * A node's delivery of received broadcasts to its members in process, without Redis or sockets
 * (run by hand):
 *
 *   node --import tsx test/bench/delivery-walk.ts [--members 1000] [--per-topic 10] [--messages 200000] [--rounds 10]
 *
 * Members are real ChannelSockets joined to a handler without handleOut (as the bridge route),
 * `--per-topic` per topic as in the steady scenario; each message is one adapter packet with a
 * RawJson payload, encoded by the cluster's DeliveryEncoder and handed to each member of its
 * topic as the adapter's room walk does; writes are dropped. CPU time per delivery with each
 * member offered the broadcast (`intercept`) and with the node's Interception asked once per
 * broadcast instead, rounds alternated; the minimum over rounds, as other processes on the
 * machine only add to it.
 */
import { parseArgs } from "node:util";
import { pino } from "pino";
import { ChannelSocket, createInterception, createRouter, ok, type ChannelHandler } from "@switchboard/channels";
import { parseRawJson, v2, type Frame } from "@switchboard/protocol";
import type { Member } from "../../libs/cluster/src/api.ts";
import { DeliveryEncoder, MemberSocket } from "../../libs/cluster/src/delivery.ts";
import { packetOf } from "../../libs/cluster/src/envelope.ts";

const { values: flags } = parseArgs({
  options: {
    members: { type: "string", default: "1000" },
    "per-topic": { type: "string", default: "10" },
    messages: { type: "string", default: "200000" },
    rounds: { type: "string", default: "10" },
  },
});
const MEMBERS = Number(flags.members);
const PER_TOPIC = Number(flags["per-topic"]);
const MESSAGES = Number(flags.messages);
const ROUNDS = Number(flags.rounds);
const TOPICS = Math.ceil(MEMBERS / PER_TOPIC);

const logger = pino({ level: "silent" });
const interception = createInterception();
const handler: ChannelHandler = { join: () => ok() };
const options = {
  router: createRouter<ChannelHandler>().route("*", handler),
  fanout: { subscribe: () => undefined, unsubscribe: () => undefined, broadcast: async () => undefined },
  presence: { track: () => "ref", update: () => undefined, untrack: () => undefined, list: () => ({}) },
  logger,
  limits: { maxChannels: 100, maxTopicBytes: 255, maxEventBytes: 255, pushRatePerSecond: 0 },
  interception,
};
const topicOf = (index: number) => `bench-steady:${index}`;

let written = 0;
let lastFrame: Frame | undefined;
const rooms: MemberSocket[][] = Array.from({ length: TOPICS }, () => []);
for (let index = 0; index < MEMBERS; index += 1) {
  const id = `member-${index}`;
  const socket = new ChannelSocket({ id, transport: "websocket", serializer: v2, params: {}, write: () => undefined, close: () => undefined }, options);
  const topic = index % TOPICS;
  socket.receive(JSON.stringify(["1", "1", topicOf(topic), "phx_join", {}]));
  const member: Member = {
    id,
    serializer: v2,
    write(frame) {
      written += 1;
      lastFrame = frame;
    },
    intercept: (broadcast, historyId) => socket.intercept(broadcast, historyId),
  };
  rooms[topic]!.push(new MemberSocket(member));
}
await new Promise((resolve) => setImmediate(resolve));

const payload = parseRawJson(Buffer.from(JSON.stringify({ seq: 1, sentAt: Date.now(), body: "x".repeat(60) })));
if (payload === undefined) throw new Error("the bench payload is not JSON");
const packets = Array.from({ length: TOPICS }, (_, topic) => packetOf({ kind: "broadcast", broadcast: { topic: topicOf(topic), event: "msg", payload } }));
const counters = { localDeliveries: 0, deliveryErrors: 0, malformed: 0 };
const encoders = {
  "every member asked": new DeliveryEncoder(counters, logger, undefined),
  "asked once per broadcast": new DeliveryEncoder(counters, logger, (event, historyId) => interception.mayIntercept(event, historyId)),
};

const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};
const best: Record<string, number> = {};
for (let round = 0; round < ROUNDS; round += 1) {
  for (const [name, encoder] of Object.entries(encoders)) {
    written = 0;
    const start = cpuMicros();
    for (let message = 0; message < MESSAGES; message += 1) {
      const topic = message % TOPICS;
      const deliveries = encoder.encode(packets[topic]);
      for (const member of rooms[topic]!) member.writeToEngine(deliveries);
    }
    const perDelivery = (cpuMicros() - start) / written;
    best[name] = Math.min(best[name] ?? Number.POSITIVE_INFINITY, perDelivery);
  }
}
for (const [name, micros] of Object.entries(best)) console.log(`${name}: ${(micros * 1000).toFixed(0)} ns per delivery (min of ${ROUNDS} rounds, ${MESSAGES} messages × ${PER_TOPIC} members)`);
if (lastFrame === undefined) throw new Error("nothing delivered");
