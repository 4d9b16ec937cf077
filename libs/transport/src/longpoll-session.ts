import type { LongPollAnswer } from "./longpoll-answer.ts";
import { parseBatch } from "./longpoll-batch.ts";
import type { PhoenixLongPollTransport } from "./longpoll-transport.ts";

/** A POST body into a session: the ndjson batch rules apply with the session's own vsn. */
export function postToSession(session: PhoenixLongPollTransport, body: string, contentType: string | undefined, maxBatchLines: number): LongPollAnswer {
  const batch = parseBatch(body, contentType, { binary: session.context.binaryFrames, maxLines: maxBatchLines });
  if (!batch.ok) {
    session.context.logger.debug({ socket: session.sid, status: batch.status }, "longpoll batch refused");
    return { status: batch.status };
  }
  return session.post(batch.frames);
}
