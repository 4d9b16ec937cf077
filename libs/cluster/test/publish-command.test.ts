import assert from "node:assert/strict";
import { test } from "node:test";
// The msgpack codec the pinned redis-adapter encodes messages with.
import { decode, encode } from "notepack.io";
import { MessageType } from "socket.io-adapter";
import { MAX_CACHED_ROOMS, publishCommands } from "../src/publish-command.ts";

const UID = "a1b2c3";
const NAMESPACE = "/";
const EVENT_PACKET = 2;

/** The message object the adapter's own path builds and encodes (adapter.ts publishToRoom). */
function adapterMessage(data: unknown[], room: string, exceptRoom: string | undefined) {
  return {
    uid: UID,
    nsp: NAMESPACE,
    type: MessageType.BROADCAST,
    data: { packet: { type: EVENT_PACKET, data }, opts: { rooms: [room], except: exceptRoom === undefined ? [] : [exceptRoom], flags: {} } },
  };
}

/** Splits `*3 $8 SPUBLISH $n channel $m message` back into its parts, checking the framing. */
function parseSpublish(bytes: Buffer): { channel: string; message: Buffer } {
  let at = 0;
  const line = () => {
    const end = bytes.indexOf("\r\n", at);
    assert.ok(end > at, "CRLF-terminated line");
    const text = bytes.subarray(at, end).toString("latin1");
    at = end + 2;
    return text;
  };
  const bulk = () => {
    const header = line();
    assert.equal(header[0], "$");
    const length = Number(header.slice(1));
    const value = bytes.subarray(at, at + length);
    at += length;
    assert.equal(bytes.subarray(at, at + 2).toString("latin1"), "\r\n");
    at += 2;
    return value;
  };
  assert.equal(line(), "*3");
  assert.equal(bulk().toString("latin1"), "SPUBLISH");
  const channel = bulk().toString("utf8");
  const message = bulk();
  assert.equal(at, bytes.length, "nothing after the command");
  return { channel, message };
}

const ignoreAnswer = () => undefined;
const channelOf = (room: string) => `sb:cluster#/#${room}#`;
const newCommands = () => publishCommands(UID, NAMESPACE, MessageType.BROADCAST, channelOf);
const parsed = (command: ReturnType<ReturnType<typeof newCommands>["build"]>) => {
  assert.ok(command, "built");
  return parseSpublish(command.toWritable(undefined as never) as Buffer);
};
const built = (data: unknown[], room: string, exceptRoom?: string) => parsed(newCommands().build(EVENT_PACKET, data, room, exceptRoom, ignoreAnswer));

test("the prebuilt SPUBLISH carries the adapter's message byte for byte as notepack encodes it", () => {
  const sizes = [0, 1, 31, 32, 255, 256, 4096, 65535, 65536];
  for (const size of sizes) {
    const bytes = Buffer.alloc(size, 0x61);
    const text = "é".repeat(Math.ceil(size / 2)).slice(0, size);
    const cases: Array<[unknown[], string, string | undefined]> = [
      [["j", "rooms:lobby", "new_msg", bytes], "t:rooms:lobby", undefined],
      [["j", "rooms:lobby", "new_msg", bytes, "1732000000000-0"], "t:rooms:lobby", undefined],
      [["b", `topic:${text}`, "evt", bytes], `t:topic:${text}`, "m:socket1"],
    ];
    for (const [data, room, exceptRoom] of cases) {
      const { channel, message } = built(data, room, exceptRoom);
      assert.equal(channel, `sb:cluster#/#${room}#`);
      assert.deepEqual(message, encode(adapterMessage(data, room, exceptRoom)), `payload ${size} B`);
    }
  }
});

test("topics, events and rooms of every length and alphabet are written as notepack writes them", () => {
  const payload = Buffer.from('{"n":1}');
  // ASCII is written by a loop up to 64 characters; each header size (fixstr up to 31 bytes, str8, str16) on both sides of it.
  const names = [1, 31, 32, 63, 64, 65, 255, 256, 300].flatMap((length) => ["a".repeat(length), "é".repeat(Math.ceil(length / 2)), `${"a".repeat(length - 1)}✓`, `😀${"b".repeat(length)}`]);
  for (const name of names) {
    for (const [data, room, exceptRoom] of [
      [["j", name, "evt", payload], `t:${name}`, undefined],
      [["b", "topic", name, payload, name], `t:${name}`, `m:${name}`],
    ] as Array<[unknown[], string, string | undefined]>) {
      const { channel, message } = built(data, room, exceptRoom);
      assert.equal(channel, channelOf(room));
      assert.deepEqual(message, encode(adapterMessage(data, room, exceptRoom)), JSON.stringify(name));
    }
  }
});

test("one builder serves any number of rooms, the same bytes whether a room's parts are kept or not", () => {
  const commands = newCommands();
  const payload = Buffer.from("[1]");
  for (let round = 0; round < 2; round++) {
    for (let index = 0; index < MAX_CACHED_ROOMS + 10; index++) {
      const room = `t:topic:${index}`;
      const data = ["j", `topic:${index}`, "evt", payload];
      const { channel, message } = parsed(commands.build(EVENT_PACKET, data, room, index % 2 === 0 ? undefined : "m:socket", ignoreAnswer));
      assert.equal(channel, channelOf(room));
      assert.deepEqual(message, encode(adapterMessage(data, room, index % 2 === 0 ? undefined : "m:socket")));
    }
  }
});

test("what a node's adapter decodes is the message, bytes as a Buffer", () => {
  const payload = Buffer.from('{"n":1}');
  const { message } = built(["j", "a:b", "evt", payload], "t:a:b");
  assert.deepEqual(decode(message), adapterMessage(["j", "a:b", "evt", payload], "t:a:b", undefined));
});

test("packets with anything but strings and Buffers are left to the adapter's encoder", () => {
  const commands = newCommands();
  assert.equal(commands.build(EVENT_PACKET, ["b", "t", "e", { text: "hi" }], "t:t", undefined, ignoreAnswer), undefined);
  assert.equal(commands.build(EVENT_PACKET, ["p", null, "1", "t", "e", Buffer.from([1])], "m:x", undefined, ignoreAnswer), undefined);
});
