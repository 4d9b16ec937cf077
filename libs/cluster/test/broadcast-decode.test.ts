import assert from "node:assert/strict";
import { test } from "node:test";
// The msgpack codec the pinned redis-adapter encodes and decodes messages with.
import { decode, encode } from "notepack.io";
import { MessageType } from "socket.io-adapter";
import { broadcastDecoder } from "../src/broadcast-decode.ts";

const NAMESPACE = "/";
const EVENT_PACKET = 2;
const read = broadcastDecoder(NAMESPACE, MessageType.BROADCAST);

/** The message object the adapter's own path builds and encodes (adapter.ts publishToRoom). */
function adapterMessage(data: unknown[], room: string, exceptRoom: string | undefined, uid = "a1b2c3d4e5f60718") {
  return {
    uid,
    nsp: NAMESPACE,
    type: MessageType.BROADCAST,
    data: { packet: { type: EVENT_PACKET, data }, opts: { rooms: [room], except: exceptRoom === undefined ? [] : [exceptRoom], flags: {} } },
  };
}

/** What the adapter's onMessage takes from notepack's decode of the same bytes. */
function asAdapterReads(bytes: Buffer) {
  const message = decode(bytes) as ReturnType<typeof adapterMessage>;
  return { uid: message.uid, packet: message.data.packet, room: message.data.opts.rooms[0], exceptRoom: message.data.opts.except[0] };
}

test("a broadcast in the prebuilt layout reads as notepack reads it, for every string and bin size form", () => {
  for (const size of [0, 1, 31, 32, 255, 256, 4096, 65535, 65536]) {
    const text = "é".repeat(Math.ceil(size / 2)).slice(0, size);
    const bytes = Buffer.alloc(size, 0x61);
    for (const exceptRoom of [undefined, `m:${text}`]) {
      const encoded = encode(adapterMessage(["j", `t:${text}`, "msg", bytes, "1-0"], `t:${text}`, exceptRoom)) as Buffer;
      const decoded = read(encoded);
      assert.ok(decoded, `size ${size}`);
      assert.deepEqual(decoded, asAdapterReads(encoded));
      assert.ok(Buffer.isBuffer(decoded.packet.data[3]), "bin stays a Buffer");
    }
  }
});

test("anything but a one-room broadcast in that exact layout is left to the adapter", () => {
  const base = adapterMessage(["b", "t:a", "msg", Buffer.from("{}")], "t:a", undefined);
  const others: unknown[] = [
    { ...base, nsp: "/other" },
    { ...base, type: MessageType.SOCKETS_JOIN },
    { ...base, data: { ...base.data, requestId: "r1" } },
    { ...base, data: { ...base.data, opts: { ...base.data.opts, rooms: ["t:a", "t:b"] } } },
    { ...base, data: { ...base.data, opts: { ...base.data.opts, flags: { local: true } } } },
    { ...base, data: { ...base.data, packet: { type: EVENT_PACKET, data: ["b", "t:a", "msg", { n: 1 }] } } },
    { ...base, data: { ...base.data, packet: { type: EVENT_PACKET, data: ["p", null, "1", "t:a", "msg", 1] } } },
    { ...base, extra: 1 },
  ];
  for (const message of others) assert.equal(read(encode(message) as Buffer), undefined, JSON.stringify(message));
  assert.equal(read(Buffer.from(JSON.stringify(base))), undefined, "JSON");
});

test("a truncated or extended message is left to the adapter, never misread", () => {
  const encoded = encode(adapterMessage(["j", "t:room", "msg", Buffer.from('{"n":1}')], "t:room", "m:abc")) as Buffer;
  assert.ok(read(encoded));
  for (let length = 0; length < encoded.length; length += 1) assert.equal(read(encoded.subarray(0, length)), undefined, `first ${length} bytes`);
  assert.equal(read(Buffer.concat([encoded, Buffer.from([0])])), undefined);
});
