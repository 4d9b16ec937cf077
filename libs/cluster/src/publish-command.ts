import { Command } from "ioredis";

/**
 * `SPUBLISH <channel> <message>` for one room's broadcast, built in one Buffer: the sharded
 * adapter's BROADCAST message encoded as msgpack byte for byte as the adapter's own encoder
 * (notepack.io) writes it, so every node's adapter reads it unchanged, and the RESP around it.
 * The adapter's path builds the message object, walks it for binary, encodes it through a
 * generic encoder, and ioredis copies it once more into its RESP; a backend message crossing
 * the bridge pays all of that per message.
 *
 * Only packets whose data are strings and Buffers are built here (the bridge's broadcasts are:
 * `["j", topic, event, bytes, historyId?]`, `["b", topic, event, bytes]`); anything else goes the
 * adapter's way.
 *
 * msgpack layout (map keys in the order the adapter's object literal has them):
 *   fixmap 4
 *     "uid": str       "nsp": str       "type": fixint 3 (BROADCAST)
 *     "data": fixmap 2
 *       "packet": fixmap 2  { "type": fixint (packet type), "data": array of str | bin }
 *       "opts": fixmap 3    { "rooms": [str room], "except": [] | [str room], "flags": fixmap 0 }
 */

export const FIXMAP = 0x80;
export const FIXARRAY = 0x90;
export const FIXSTR = 0xa0;
export const STR8 = 0xd9;
export const STR16 = 0xda;
export const STR32 = 0xdb;
export const BIN8 = 0xc4;
export const BIN16 = 0xc5;
export const BIN32 = 0xc6;
export const FIXSTR_MAX = 0x1f;
export const FIXINT_MAX = 0x7f;
const FIXARRAY_MAX = 0x0f;

/** The keys and their one-byte fixstr headers, as notepack writes them. */
export const key = (name: string) => Buffer.concat([Buffer.from([FIXSTR | name.length]), Buffer.from(name, "latin1")]);
export const OPTS_ROOMS = Buffer.concat([key("opts"), Buffer.from([FIXMAP | 3]), key("rooms"), Buffer.from([FIXARRAY | 1])]);
export const EXCEPT_NONE = Buffer.concat([key("except"), Buffer.from([FIXARRAY]), key("flags"), Buffer.from([FIXMAP])]);
export const EXCEPT_ONE = Buffer.concat([key("except"), Buffer.from([FIXARRAY | 1])]);
export const FLAGS_EMPTY = Buffer.concat([key("flags"), Buffer.from([FIXMAP])]);
const RESP_SPUBLISH = Buffer.from("*3\r\n$8\r\nSPUBLISH\r\n$", "latin1");
const CRLF_LENGTH = 2;

function strHeaderLength(byteLength: number): number {
  if (byteLength <= FIXSTR_MAX) return 1;
  if (byteLength < 0x100) return 2;
  if (byteLength < 0x10000) return 3;
  return 5;
}

function binHeaderLength(byteLength: number): number {
  if (byteLength < 0x100) return 2;
  if (byteLength < 0x10000) return 3;
  return 5;
}

function writeStrHeader(target: Buffer, offset: number, byteLength: number): number {
  if (byteLength <= FIXSTR_MAX) return target.writeUInt8(FIXSTR | byteLength, offset);
  if (byteLength < 0x100) return target.writeUInt8(byteLength, target.writeUInt8(STR8, offset));
  if (byteLength < 0x10000) return target.writeUInt16BE(byteLength, target.writeUInt8(STR16, offset));
  return target.writeUInt32BE(byteLength, target.writeUInt8(STR32, offset));
}

function writeBinHeader(target: Buffer, offset: number, byteLength: number): number {
  if (byteLength < 0x100) return target.writeUInt8(byteLength, target.writeUInt8(BIN8, offset));
  if (byteLength < 0x10000) return target.writeUInt16BE(byteLength, target.writeUInt8(BIN16, offset));
  return target.writeUInt32BE(byteLength, target.writeUInt8(BIN32, offset));
}

function writeStr(target: Buffer, offset: number, value: string, byteLength: number): number {
  const at = writeStrHeader(target, offset, byteLength);
  return at + target.write(value, at, byteLength, "utf8");
}

function str(value: string): Buffer {
  const bytes = Buffer.from(value, "utf8");
  const header = Buffer.alloc(strHeaderLength(bytes.length));
  writeStrHeader(header, 0, bytes.length);
  return Buffer.concat([header, bytes]);
}

/** The message's first bytes, before the uid's string. */
export const UID_KEY = Buffer.concat([Buffer.from([FIXMAP | 4]), key("uid")]);

/** The fixed bytes of a namespace's messages of one type: after the uid up to the packet type, and after that up to the data array. */
export function messageFixedParts(namespace: string, messageType: number): { afterUid: Buffer; beforeData: Buffer } {
  const afterUid = Buffer.concat([
    key("nsp"),
    str(namespace),
    key("type"),
    Buffer.from([messageType]),
    key("data"),
    Buffer.from([FIXMAP | 2]),
    key("packet"),
    Buffer.from([FIXMAP | 2]),
    key("type"),
  ]);
  return { afterUid, beforeData: key("data") };
}

/** The message's bytes up to the packet's data array, fixed for one adapter (its uid). */
function messageHead(uid: string, namespace: string, messageType: number, packetType: number): Buffer {
  const { afterUid, beforeData } = messageFixedParts(namespace, messageType);
  return Buffer.concat([UID_KEY, str(uid), afterUid, Buffer.from([packetType]), beforeData]);
}

/** An ioredis command whose RESP was written beforehand: ioredis queues it, times it out and parses its answer as any other. */
class PrebuiltCommand extends Command {
  constructor(private readonly bytes: Buffer) {
    super("spublish", []);
  }

  override toWritable(): Buffer {
    return this.bytes;
  }
}

export interface PublishCommands {
  /** The SPUBLISH command for this broadcast, or undefined when its packet is not one built here. */
  build(channel: string, packetType: number, data: readonly unknown[], room: string, exceptRoom: string | undefined): Command | undefined;
}

export function publishCommands(uid: string, namespace: string, messageType: number): PublishCommands {
  const heads = new Map<number, Buffer>();
  const headOf = (packetType: number) => {
    let head = heads.get(packetType);
    if (head === undefined) heads.set(packetType, (head = messageHead(uid, namespace, messageType, packetType)));
    return head;
  };
  return {
    build(channel, packetType, data, room, exceptRoom) {
      if (packetType > FIXINT_MAX || data.length > FIXARRAY_MAX) return undefined;
      const head = headOf(packetType);
      // Sizes first, then one allocation.
      let length = head.length + 1;
      for (const item of data) {
        if (typeof item === "string") {
          const bytes = Buffer.byteLength(item);
          length += strHeaderLength(bytes) + bytes;
        } else if (Buffer.isBuffer(item)) {
          length += binHeaderLength(item.length) + item.length;
        } else return undefined;
      }
      const roomBytes = Buffer.byteLength(room);
      length += OPTS_ROOMS.length + strHeaderLength(roomBytes) + roomBytes;
      const exceptBytes = exceptRoom === undefined ? 0 : Buffer.byteLength(exceptRoom);
      length += exceptRoom === undefined ? EXCEPT_NONE.length : EXCEPT_ONE.length + strHeaderLength(exceptBytes) + exceptBytes + FLAGS_EMPTY.length;

      const channelBytes = Buffer.byteLength(channel);
      const channelPart = `${channelBytes}\r\n${channel}\r\n$${length}\r\n`;
      const channelPartBytes = Buffer.byteLength(channelPart);
      const command = Buffer.allocUnsafe(RESP_SPUBLISH.length + channelPartBytes + length + CRLF_LENGTH);
      let at = RESP_SPUBLISH.copy(command, 0);
      at += command.write(channelPart, at, channelPartBytes, "utf8");
      at += head.copy(command, at);
      at = command.writeUInt8(FIXARRAY | data.length, at);
      for (const item of data) {
        if (typeof item === "string") at = writeStr(command, at, item, Buffer.byteLength(item));
        else {
          const bytes = item as Buffer;
          at = writeBinHeader(command, at, bytes.length);
          at += bytes.copy(command, at);
        }
      }
      at += OPTS_ROOMS.copy(command, at);
      at = writeStr(command, at, room, roomBytes);
      if (exceptRoom === undefined) at += EXCEPT_NONE.copy(command, at);
      else {
        at += EXCEPT_ONE.copy(command, at);
        at = writeStr(command, at, exceptRoom, exceptBytes);
        at += FLAGS_EMPTY.copy(command, at);
      }
      command.write("\r\n", at, "latin1");
      return new PrebuiltCommand(command);
    },
  };
}
