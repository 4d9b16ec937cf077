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

/**
 * Strings up to this many characters are measured and written by a loop here when they are
 * ASCII (topics, events, ids mostly are): cheaper than the two Buffer calls (length, write) a
 * string otherwise costs.
 */
const SHORT_STRING = 64;
const ASCII_LIMIT = 0x80;

/** The string's UTF-8 length. */
function utf8Length(value: string): number {
  if (value.length <= SHORT_STRING) {
    let index = 0;
    while (index < value.length && value.charCodeAt(index) < ASCII_LIMIT) index++;
    if (index === value.length) return value.length;
  }
  return Buffer.byteLength(value);
}

function writeStr(target: Buffer, offset: number, value: string, byteLength: number): number {
  const at = writeStrHeader(target, offset, byteLength);
  // As many bytes as characters only when every character is ASCII.
  if (byteLength !== value.length || byteLength > SHORT_STRING) return at + target.write(value, at, byteLength, "utf8");
  for (let index = 0; index < byteLength; index++) target[at + index] = value.charCodeAt(index);
  return at + byteLength;
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

/** What a prebuilt SPUBLISH answers: how many subscriptions received it, or why it failed (receivers undefined). */
export type PublishAnswer = (receivers: number | undefined, error: Error | undefined) => void;

/**
 * An ioredis command whose RESP was written beforehand and whose answer goes to a callback:
 * ioredis queues it, writes it, re-sends it after a reconnect, times it out and parses its answer
 * as any other, and calls its `resolve` or `reject`.
 *
 * A command of ioredis's own makes a Promise with three closures when it is constructed
 * (`initPromise`) and, with `commandTimeout`, a timer when it is sent; the bridge sends one per
 * backend message. This one has neither: `resolve`/`reject` are shared functions answering the
 * callback, and the commands sent in one tick share one timer (`TickDeadline`). A failure is
 * answered in a later tick, never from inside `sendCommand`.
 */
class PrebuiltCommand extends Command {
  /** The tick's deadline this command counts in, once sent with a timeout. */
  deadline: TickDeadline | undefined = undefined;

  constructor(
    private readonly bytes: Buffer,
    readonly answer: PublishAnswer,
  ) {
    super("spublish", []);
    this.resolve = answerReceivers;
    this.reject = answerError;
  }

  override toWritable(): Buffer {
    return this.bytes;
  }

  override setTimeout(ms: number): void {
    // ioredis asks again when it re-sends the command after a reconnect: the first deadline holds, as ioredis's own.
    if (this.deadline === undefined) this.deadline = tickDeadlines.add(this, ms);
  }
}
// `initPromise` is private in ioredis's types; the Command constructor calls it.
(PrebuiltCommand.prototype as unknown as { initPromise(): void }).initPromise = function noPromise() {};

function answerReceivers(this: PrebuiltCommand, reply: unknown): void {
  if (this.isResolved) return;
  this.isResolved = true;
  this.deadline?.answered();
  this.answer(Number(reply), undefined);
}

function answerError(this: PrebuiltCommand, error: Error): void {
  if (this.isResolved) return;
  this.isResolved = true;
  this.deadline?.answered();
  // ioredis rejects some commands synchronously inside `sendCommand` (a closed connection).
  process.nextTick(this.answer, undefined, error);
}

/** ioredis's message for a command that outlived `commandTimeout`. */
const TIMED_OUT = "Command timed out";

/** The commands sent in one tick with a timeout: one timer for all of them, cleared once all have answered. */
class TickDeadline {
  readonly commands: PrebuiltCommand[] = [];
  private unanswered = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(ms: number) {
    this.timer = setTimeout(expire, ms, this);
  }

  add(command: PrebuiltCommand): void {
    this.commands.push(command);
    this.unanswered++;
  }

  answered(): void {
    if (--this.unanswered === 0) clearTimeout(this.timer);
  }

  /** Its timer is cleared: a command sent later in the tick needs a deadline of its own. */
  get settled(): boolean {
    return this.unanswered === 0;
  }
}

/**
 * The deadline passed: the commands still unanswered fail, but only after this turn's poll phase.
 * libuv runs due timers before it reads sockets, so after the process stalled (a long GC, a
 * starved CPU) past the deadline the answers may already wait in the socket: failing them here
 * would make the forwarder publish again what Redis ran, a duplicate for every client.
 */
function expire(deadline: TickDeadline): void {
  setImmediate(failUnanswered, deadline);
}

function failUnanswered(deadline: TickDeadline): void {
  for (const command of deadline.commands) if (!command.isResolved) command.reject(new Error(TIMED_OUT));
}

/**
 * Deadlines by tick: the commands sent until the current operation's `nextTick` queue runs share
 * one (they left within microseconds of each other, as ioredis's timeouts are set per command
 * when sent). One timer per burst of backend messages instead of one per message; Node also
 * drops and remakes its timer list for the duration each time all of its timers are cleared.
 */
const tickDeadlines = {
  open: undefined as TickDeadline | undefined,
  openMs: 0,
  add(command: PrebuiltCommand, ms: number): TickDeadline {
    if (this.open === undefined || this.openMs !== ms || this.open.settled) {
      this.open = new TickDeadline(ms);
      this.openMs = ms;
      process.nextTick(closeTick);
    }
    this.open.add(command);
    return this.open;
  },
};

function closeTick(): void {
  tickDeadlines.open = undefined;
}

/**
 * The bytes of one room's commands that do not change from message to message: the RESP up to
 * the message's length, and the message's rooms option (with the empty `except` most broadcasts
 * have). Kept per room for the rooms in use.
 */
interface RoomParts {
  /** `*3\r\n$8\r\nSPUBLISH\r\n$<n>\r\n<channel>\r\n$` */
  readonly respHead: Buffer;
  /** `opts`, `rooms: [room]`: `except` follows. */
  readonly rooms: Buffer;
  /** `rooms` with `except: [], flags: {}`: the message's end. */
  readonly roomsExceptNone: Buffer;
}

/**
 * Rooms whose parts are kept. The bridge forwards to whatever topics its backends name, so the
 * cache is bounded; a few hundred bytes per room, so this is at most a few hundred KiB. Past it
 * the cache starts over: hot rooms are back after one message each.
 */
export const MAX_CACHED_ROOMS = 1024;

function decimalDigits(value: number): number {
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  return digits;
}

/** Writes `value` in its `digits` decimal digits (no allocation: the string form would be one per message). */
function writeDecimal(target: Buffer, offset: number, value: number, digits: number): number {
  const end = offset + digits;
  let rest = value;
  for (let at = end - 1; at >= offset; at--) {
    target[at] = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return end;
}

export interface PublishCommands {
  /** The SPUBLISH command for this broadcast, or undefined when its packet is not one built here. */
  build(packetType: number, data: readonly unknown[], room: string, exceptRoom: string | undefined, answer: PublishAnswer): Command | undefined;
}

/** `channelOf` names the channel a broadcast to one room is published on (the adapter's `computeChannel`); asked once per cached room. */
export function publishCommands(uid: string, namespace: string, messageType: number, channelOf: (room: string) => string): PublishCommands {
  const heads = new Map<number, Buffer>();
  const headOf = (packetType: number) => {
    let head = heads.get(packetType);
    if (head === undefined) heads.set(packetType, (head = messageHead(uid, namespace, messageType, packetType)));
    return head;
  };
  const roomParts = new Map<string, RoomParts>();
  const partsOf = (room: string): RoomParts => {
    let parts = roomParts.get(room);
    if (parts !== undefined) return parts;
    if (roomParts.size >= MAX_CACHED_ROOMS) roomParts.clear();
    const channel = Buffer.from(channelOf(room), "utf8");
    const rooms = Buffer.concat([OPTS_ROOMS, str(room)]);
    parts = {
      respHead: Buffer.concat([RESP_SPUBLISH, Buffer.from(`${channel.length}\r\n`, "latin1"), channel, Buffer.from("\r\n$", "latin1")]),
      rooms,
      roomsExceptNone: Buffer.concat([rooms, EXCEPT_NONE]),
    };
    roomParts.set(room, parts);
    return parts;
  };
  return {
    build(packetType, data, room, exceptRoom, answer) {
      if (packetType > FIXINT_MAX || data.length > FIXARRAY_MAX) return undefined;
      const head = headOf(packetType);
      // Sizes first, then one allocation.
      let length = head.length + 1;
      for (const item of data) {
        if (typeof item === "string") {
          const bytes = utf8Length(item);
          length += strHeaderLength(bytes) + bytes;
        } else if (Buffer.isBuffer(item)) {
          length += binHeaderLength(item.length) + item.length;
        } else return undefined;
      }
      const parts = partsOf(room);
      const exceptBytes = exceptRoom === undefined ? 0 : utf8Length(exceptRoom);
      length +=
        exceptRoom === undefined ? parts.roomsExceptNone.length : parts.rooms.length + EXCEPT_ONE.length + strHeaderLength(exceptBytes) + exceptBytes + FLAGS_EMPTY.length;

      const lengthDigits = decimalDigits(length);
      const command = Buffer.allocUnsafe(parts.respHead.length + lengthDigits + CRLF_LENGTH + length + CRLF_LENGTH);
      // `set` rather than `copy`: the parts are whole Buffers, so copy's checks and slicing are not needed.
      command.set(parts.respHead, 0);
      let at = writeCrlf(command, writeDecimal(command, parts.respHead.length, length, lengthDigits));
      at = put(command, at, head);
      command[at++] = FIXARRAY | data.length;
      for (const item of data) {
        if (typeof item === "string") at = writeStr(command, at, item, utf8Length(item));
        else {
          const bytes = item as Buffer;
          at = put(command, writeBinHeader(command, at, bytes.length), bytes);
        }
      }
      if (exceptRoom === undefined) at = put(command, at, parts.roomsExceptNone);
      else {
        at = put(command, put(command, at, parts.rooms), EXCEPT_ONE);
        at = put(command, writeStr(command, at, exceptRoom, exceptBytes), FLAGS_EMPTY);
      }
      writeCrlf(command, at);
      return new PrebuiltCommand(command, answer);
    },
  };
}

function put(target: Buffer, offset: number, bytes: Buffer): number {
  target.set(bytes, offset);
  return offset + bytes.length;
}

function writeCrlf(target: Buffer, offset: number): number {
  target[offset] = 0x0d;
  target[offset + 1] = 0x0a;
  return offset + CRLF_LENGTH;
}
