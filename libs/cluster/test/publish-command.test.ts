import assert from "node:assert/strict";
import { test } from "node:test";
// The msgpack codec the pinned redis-adapter encodes messages with.
import { decode, encode } from "notepack.io";
import { MessageType } from "socket.io-adapter";
import { publishCommands } from "../src/publish-command.ts";

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

const built = (data: unknown[], room: string, exceptRoom?: string) => {
  const command = publishCommands(UID, NAMESPACE, MessageType.BROADCAST).build(`sb:cluster#/#${room}#`, EVENT_PACKET, data, room, exceptRoom);
  assert.ok(command, "built");
  return parseSpublish(command.toWritable(undefined as never) as Buffer);
};

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

test("what a node's adapter decodes is the message, bytes as a Buffer", () => {
  const payload = Buffer.from('{"n":1}');
  const { message } = built(["j", "a:b", "evt", payload], "t:a:b");
  assert.deepEqual(decode(message), adapterMessage(["j", "a:b", "evt", payload], "t:a:b", undefined));
});

test("packets with anything but strings and Buffers are left to the adapter's encoder", () => {
  const commands = publishCommands(UID, NAMESPACE, MessageType.BROADCAST);
  assert.equal(commands.build("c", EVENT_PACKET, ["b", "t", "e", { text: "hi" }], "t:t", undefined), undefined);
  assert.equal(commands.build("c", EVENT_PACKET, ["p", null, "1", "t", "e", Buffer.from([1])], "m:x", undefined), undefined);
});
