import type { LongPollAnswer } from "./longpoll-answer.ts";
import type { PollResponder } from "./longpoll-transport.ts";

/** A LongPoll request that landed on a node which does not own its session. */
export type RelayedRequest =
  | { kind: "poll"; sessionId: string }
  | { kind: "post"; sessionId: string; body: string; contentType: string | undefined };

/** What a node does with requests relayed to its own sessions (the transport server provides it). */
export interface RelayHandler {
  poll(sessionId: string, respond: PollResponder): () => void;
  post(sessionId: string, body: string, contentType: string | undefined): LongPollAnswer;
}

export interface RelayedExchange {
  /** The owner's answer; undefined when the owner is gone or did not answer in time. */
  answer: Promise<LongPollAnswer | undefined>;
  /** The client went away: the owner stops waiting, so no messages are taken for nobody. */
  cancel(): void;
}

/**
 * Routes LongPoll requests between nodes, so any node can serve any session (no sticky sessions):
 * the session token names the owner, `forward` carries a request there, and the owner answers
 * through the handler given to `serve`.
 */
export interface LongPollRelay {
  serve(handler: RelayHandler): void;
  forward(ownerNodeId: string, request: RelayedRequest, timeoutMs: number): RelayedExchange;
}
