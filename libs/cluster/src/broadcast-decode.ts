import {
  BIN16,
  BIN32,
  BIN8,
  EXCEPT_NONE,
  EXCEPT_ONE,
  FIXARRAY,
  FIXINT_MAX,
  FIXSTR,
  FIXSTR_MAX,
  FLAGS_EMPTY,
  messageFixedParts,
  OPTS_ROOMS,
  STR16,
  STR32,
  STR8,
  UID_KEY,
} from "./publish-command.ts";

/**
 * The reading side of publish-command.ts: a received adapter message in exactly the layout its
 * prebuilt SPUBLISH writes (a BROADCAST of one room whose packet data are strings and Buffers:
 * every backend message and every handler broadcast) read without notepack's generic decoder,
 * which builds the whole message object, its maps and strings, per message. Anything else
 * (another layout, another message type, a peer encoding differently) is not matched here and
 * goes the adapter's way.
 */
export interface ReceivedBroadcast {
  uid: string;
  packet: { type: number; data: Array<string | Buffer> };
  room: string;
  exceptRoom: string | undefined;
}

const FIXSTR_MASK = 0xe0;
const FIXARRAY_MASK = 0xf0;
const FIXARRAY_COUNT = 0x0f;

/** Where a str or bin item's bytes are; `end` is -1 when the bytes there are neither. */
interface Item {
  start: number;
  end: number;
  binary: boolean;
}

function readItem(bytes: Buffer, at: number, item: Item): void {
  const head = bytes[at];
  let start: number;
  let length: number;
  item.binary = false;
  if (head === undefined) return void (item.end = -1);
  if ((head & FIXSTR_MASK) === FIXSTR) [start, length] = [at + 1, head & FIXSTR_MAX];
  else if (head === STR8 || head === BIN8) [start, length] = [at + 2, bytes[at + 1] ?? 0];
  else if ((head === STR16 || head === BIN16) && at + 3 <= bytes.length) [start, length] = [at + 3, bytes.readUInt16BE(at + 1)];
  else if ((head === STR32 || head === BIN32) && at + 5 <= bytes.length) [start, length] = [at + 5, bytes.readUInt32BE(at + 1)];
  else return void (item.end = -1);
  item.binary = head === BIN8 || head === BIN16 || head === BIN32;
  item.start = start;
  item.end = start + length <= bytes.length ? start + length : -1;
}

/** A loop, not `Buffer.compare`: the fixed parts are a few dozen bytes, less than a native call costs. */
function matches(bytes: Buffer, at: number, expected: Buffer): boolean {
  if (at + expected.length > bytes.length) return false;
  for (let index = 0; index < expected.length; index += 1) if (bytes[at + index] !== expected[index]) return false;
  return true;
}

/**
 * A decoder for one namespace and BROADCAST message type. Strings keep the adapter's meaning
 * (UTF-8); a bin item is a view of the received bytes, as notepack gives it.
 */
export function broadcastDecoder(namespace: string, messageType: number): (bytes: Buffer) => ReceivedBroadcast | undefined {
  const { afterUid, beforeData } = messageFixedParts(namespace, messageType);
  const item: Item = { start: 0, end: 0, binary: false };
  const readStr = (bytes: Buffer, at: number): string | undefined => {
    readItem(bytes, at, item);
    return item.end < 0 || item.binary ? undefined : bytes.toString("utf8", item.start, item.end);
  };
  return (bytes) => {
    if (!matches(bytes, 0, UID_KEY)) return undefined;
    let at = UID_KEY.length;
    const uid = readStr(bytes, at);
    if (uid === undefined || !matches(bytes, (at = item.end), afterUid)) return undefined;
    at += afterUid.length;
    const packetType = bytes[at];
    if (packetType === undefined || packetType > FIXINT_MAX || !matches(bytes, at + 1, beforeData)) return undefined;
    at += 1 + beforeData.length;
    const arrayHead = bytes[at] ?? 0;
    if ((arrayHead & FIXARRAY_MASK) !== FIXARRAY) return undefined;
    const data: Array<string | Buffer> = [];
    at += 1;
    for (let count = arrayHead & FIXARRAY_COUNT; count > 0; count -= 1) {
      readItem(bytes, at, item);
      if (item.end < 0) return undefined;
      data.push(item.binary ? bytes.subarray(item.start, item.end) : bytes.toString("utf8", item.start, item.end));
      at = item.end;
    }
    if (!matches(bytes, at, OPTS_ROOMS)) return undefined;
    const room = readStr(bytes, at + OPTS_ROOMS.length);
    if (room === undefined) return undefined;
    at = item.end;
    let exceptRoom: string | undefined;
    if (matches(bytes, at, EXCEPT_NONE)) at += EXCEPT_NONE.length;
    else if (matches(bytes, at, EXCEPT_ONE)) {
      exceptRoom = readStr(bytes, at + EXCEPT_ONE.length);
      if (exceptRoom === undefined || !matches(bytes, item.end, FLAGS_EMPTY)) return undefined;
      at = item.end + FLAGS_EMPTY.length;
    } else return undefined;
    if (at !== bytes.length) return undefined;
    return { uid, packet: { type: packetType, data }, room, exceptRoom };
  };
}
