import type { Frame } from "@switchboard/protocol";

/**
 * Whole WebSocket frames as the server sends them (RFC 6455 §5.2): final, unmasked, no extension
 * bits, text or binary opcode. Server frames carry no mask, so a frame's bytes are the same for
 * every socket: a broadcast is framed once and that one Buffer is written to each member
 * (socket.io does the same with its pre-encoded frames), instead of each `ws.send` building a
 * header and converting the text again.
 *
 * | byte  | content                                                   |
 * | ----- | --------------------------------------------------------- |
 * | 0     | 0x80 (FIN) | opcode (0x1 text, 0x2 binary)                |
 * | 1     | payload length ≤ 125, or 126 / 127 for the longer forms   |
 * | 2–3   | 16-bit length (126 ≤ length < 65,536)                     |
 * | 2–9   | 64-bit length (length ≥ 65,536)                           |
 * | after | the payload                                               |
 */
const FIN = 0x80;
const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
const MAX_7BIT_LENGTH = 125;
const MAX_16BIT_LENGTH = 0xffff;
const LENGTH_16BIT = 126;
const LENGTH_64BIT = 127;

/** A Buffer of the frame's size with its header written; the payload goes at the returned offset. */
function frameWithHeader(length: number, opcode: number): { bytes: Buffer; offset: number } {
  const offset = length <= MAX_7BIT_LENGTH ? 2 : length <= MAX_16BIT_LENGTH ? 4 : 10;
  const bytes = Buffer.allocUnsafe(offset + length);
  bytes[0] = FIN | opcode;
  if (offset === 2) {
    bytes[1] = length;
  } else if (offset === 4) {
    bytes[1] = LENGTH_16BIT;
    bytes.writeUInt16BE(length, 2);
  } else {
    bytes[1] = LENGTH_64BIT;
    bytes.writeBigUInt64BE(BigInt(length), 2);
  }
  return { bytes, offset };
}

export function wsTextFrame(text: string): Buffer {
  const { bytes, offset } = frameWithHeader(Buffer.byteLength(text), OPCODE_TEXT);
  bytes.write(text, offset, "utf8");
  return bytes;
}

export function wsBinaryFrame(payload: Uint8Array): Buffer {
  const { bytes, offset } = frameWithHeader(payload.byteLength, OPCODE_BINARY);
  bytes.set(payload, offset);
  return bytes;
}

// The frame written last, framed: a broadcast writes the same Frame object (or string) to its
// members one after another, so one entry catches every repeat.
let lastFrame: Frame | undefined;
let lastBytes: Buffer = Buffer.alloc(0);

/** The WebSocket bytes of a Phoenix frame: a text frame for a string, a binary frame for bytes. */
export function wireBytesOf(frame: Frame): Buffer {
  if (frame !== lastFrame) {
    lastFrame = frame;
    lastBytes = typeof frame === "string" ? wsTextFrame(frame) : wsBinaryFrame(frame);
  }
  return lastBytes;
}
