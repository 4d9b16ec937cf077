import type { ServerResponse } from "node:http";

/**
 * LongPoll answers: always HTTP 200, the real status inside the JSON (Phoenix.Transports.LongPoll).
 * Keys are written in Phoenix's order (sorted: messages, status, token).
 *
 *   status 200  poll with messages / POST accepted
 *   status 204  poll window ended without messages
 *   status 400  POST with an ndjson line that is neither a frame nor valid base64   (ours)
 *   status 403  connect refused by `authorize` (the stock client stops, no retry)
 *   status 410  no such session (none given, unknown, expired, forged): a GET opens a new one
 *   status 413  POST body over maxFrameBytes, or more ndjson lines than maxBatchLines  (ours)
 */
export interface LongPollAnswer {
  status: 200 | 204 | 400 | 403 | 410 | 413;
  token?: string;
  messages?: string[];
}

export function encodeAnswer({ messages, status, token }: LongPollAnswer): string {
  return JSON.stringify({ messages, status, token });
}

export function writeAnswer(res: ServerResponse, answer: LongPollAnswer, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const body = encodeAnswer(answer);
  res.writeHead(200, { ...headers, "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
  res.end(body);
}
