import type { Payload } from "./message.ts";

// JSON text is UTF-8 (RFC 8259); invalid bytes must not be silently replaced by U+FFFD.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A JSON payload kept as the text it was published as. Frames splice the text in unchanged, so a
 * backend's message is parsed once (to know it is JSON) and never re-encoded on its way to the
 * clients, however many nodes and formats it reaches. It is held as UTF-8 bytes (what Redis
 * carries) or as text (what frames are built from), and each form is made once, on first use.
 * Code that needs the value (a handler's `handleOut`) parses it through `payloadValue`;
 * `JSON.stringify` sees the value too, through `toJSON`.
 */
class RawJsonPayload {
  #text: string | undefined;
  #bytes: Buffer | undefined;

  constructor(text: string | undefined, bytes: Buffer | undefined) {
    this.#text = text;
    this.#bytes = bytes;
  }

  get text(): string {
    this.#text ??= this.#bytes!.toString("utf8");
    return this.#text;
  }

  get bytes(): Buffer {
    this.#bytes ??= Buffer.from(this.#text!);
    return this.#bytes;
  }

  value(): unknown {
    return JSON.parse(this.text) as unknown;
  }

  toJSON(): unknown {
    return this.value();
  }
}

export interface RawJson {
  /** The JSON text, exactly as published (whitespace included). */
  readonly text: string;
  /** The same text as UTF-8. */
  readonly bytes: Buffer;
  /** Parses the text (each call parses again: the hot path never needs it). */
  value(): unknown;
  toJSON(): unknown;
}

export function isRawJson(payload: Payload): payload is RawJson {
  return payload instanceof RawJsonPayload;
}

/**
 * Bytes that are UTF-8 JSON text become a RawJson; anything else is undefined. The text is parsed
 * once here, to check it, and the parsed value dropped.
 */
export function parseRawJson(bytes: Uint8Array): RawJson | undefined {
  try {
    const text = strictUtf8.decode(bytes);
    JSON.parse(text);
    return new RawJsonPayload(text, Buffer.isBuffer(bytes) ? bytes : undefined);
  } catch {
    return undefined;
  }
}

/** Bytes already known to be UTF-8 JSON text (checked by the node that parsed them first). */
export function trustedRawJson(bytes: Buffer): RawJson {
  return new RawJsonPayload(undefined, bytes);
}

/** The payload as a plain value: a RawJson parsed, anything else as it is. */
export function payloadValue(payload: Payload): Payload {
  return isRawJson(payload) ? payload.value() : payload;
}
