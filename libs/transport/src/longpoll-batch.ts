import type { Frame } from "@switchboard/protocol";

const NDJSON = "application/x-ndjson";
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export type BatchResult = { ok: true; frames: Frame[] } | { ok: false; status: 400 | 413 };

/**
 * The frames of one LongPoll POST. phoenix.js sends `application/x-ndjson`, one frame a line; in
 * V2 a line that is not a JSON frame (V2 `[`, V1 `{`) is the base64 of a binary frame. Any other
 * content type is one frame (what older clients and the transcript's raw POSTs send).
 */
export function parseBatch(text: string, contentType: string | undefined, options: { binary: boolean; maxLines: number }): BatchResult {
  if (!contentType?.toLowerCase().startsWith(NDJSON)) return { ok: true, frames: [text] };
  const lines = text.split(/\r?\n/).filter((line) => line.length > 0);
  if (lines.length > options.maxLines) return { ok: false, status: 413 };
  const frames: Frame[] = [];
  for (const line of lines) {
    const first = line[0];
    if (first === "[" || first === "{" || !options.binary) frames.push(line);
    else if (STRICT_BASE64.test(line)) frames.push(Buffer.from(line, "base64"));
    else return { ok: false, status: 400 };
  }
  return { ok: true, frames };
}
