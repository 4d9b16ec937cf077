/**
 * Encode/decode throughput of the wire formats (not part of `npm test`): the broadcast encoders
 * run once per format per broadcast per node, decode once per client frame.
 * Run: npx tsx libs/protocol/bench/encode.ts
 */
import { v1, v2, v2Text } from "@switchboard/protocol";
import type { Broadcast, Frame } from "@switchboard/protocol";

const ITERATIONS = 200_000;

const chat: Broadcast = {
  topic: "rooms:lobby",
  event: "new_msg",
  payload: { user: "raw_a", body: "hello there, how is everyone doing today?", at: 1795392718, tags: ["a", "b"] },
};
const bytes: Broadcast = { topic: "rooms:lobby", event: "new_msg", payload: Buffer.alloc(256, 7) };

function measure(label: string, run: () => unknown): void {
  for (let index = 0; index < 10_000; index++) run();
  const started = process.hrtime.bigint();
  for (let index = 0; index < ITERATIONS; index++) run();
  const nanos = Number(process.hrtime.bigint() - started) / ITERATIONS;
  process.stdout.write(`${label.padEnd(44)} ${(1e9 / nanos / 1e6).toFixed(2)} M/s  (${nanos.toFixed(0)} ns)\n`);
}

measure("v2 encodeBroadcast json", () => v2.encodeBroadcast(chat));
measure("v1 encodeBroadcast json", () => v1.encodeBroadcast(chat));
measure("v2 encodeBroadcast 256 bytes (binary)", () => v2.encodeBroadcast(bytes));
measure("v2-text encodeBroadcast 256 bytes (base64)", () => v2Text.encodeBroadcast(bytes));
measure("JSON.stringify of the payload alone", () => JSON.stringify(chat.payload));
const pushText: Frame = '["1","3","rooms:lobby","new_msg",{"body":"hello"}]';
const pushBinary: Frame = Buffer.from("0002020b0732303331726f6f6d733a6c6f6262796e65775f6d73677261776279746573", "hex");
measure("v2 decode text push", () => v2.decode(pushText));
measure("v2 decode binary push", () => v2.decode(pushBinary));
