import type { IncomingMessage, ServerResponse } from "node:http";
import { longPollToken } from "./connect-params.ts";
import { answerStatus } from "./http-answers.ts";
import { writeAnswer } from "./longpoll-answer.ts";
import type { LongPollAnswer } from "./longpoll-answer.ts";
import type { LongPollRelay } from "./longpoll-relay.ts";
import { postToSession } from "./longpoll-session.ts";
import type { PhoenixLongPollTransport } from "./longpoll-transport.ts";
import { negotiate } from "./negotiate.ts";
import type { Negotiated } from "./negotiate.ts";
import { readBody } from "./read-body.ts";
import type { SessionTokens } from "./session-token.ts";
import type { ConnectInfo } from "./types.ts";

const TOKEN_HEADER = "x-phoenix-longpoll-token";
const ALLOWED_METHODS = "GET, POST, OPTIONS";
const ALLOWED_HEADERS = "accept, content-type, x-phoenix-longpoll-token, x-phoenix-authtoken";
/** s a browser may cache our preflight answer: it never changes while the node runs. */
const PREFLIGHT_MAX_AGE_S = "600";
/** ms a relayed request may take beyond its own wait (Redis round trips, a busy owner) before the owner counts as gone. */
const RELAY_GRACE_MS = 5_000;

export interface LongPollEndpointDeps {
  nodeId: string;
  tokens: SessionTokens;
  windowMs: number;
  maxBodyBytes: number;
  maxBatchLines: number;
  relay: LongPollRelay | undefined;
  checkOrigin(origin: string | undefined): boolean;
  accepting(): boolean;
  /** The local session of that id, if it is still open. */
  session(sessionId: string): PhoenixLongPollTransport | undefined;
  authorize(info: ConnectInfo): Promise<boolean>;
  /** Hands a new session's first GET to engine.io, whose handshake answers it (410 + token). */
  openSession(req: IncomingMessage, res: ServerResponse, negotiated: Negotiated): void;
}

type Target = { local: PhoenixLongPollTransport } | { owner: string; sessionId: string } | undefined;

/**
 * Phoenix.Transports.LongPoll over HTTP: CORS for browsers, then GET (open a session or poll one)
 * and POST (frames into a session), served here for this node's sessions and relayed to the
 * owner for the others. Answers are HTTP 200 with the real status in the JSON (longpoll-answer.ts);
 * only requests that never reach a session get bare HTTP statuses (403 bad Origin or vsn,
 * 405 other methods, 503 draining).
 */
export function longPollEndpoint(deps: LongPollEndpointDeps) {
  const targetOf = (req: IncomingMessage, query: URLSearchParams): Target => {
    const header = req.headers[TOKEN_HEADER];
    const token = longPollToken(query) ?? (Array.isArray(header) ? header[0] : header);
    const ref = token ? deps.tokens.verify(token) : undefined;
    if (!ref) return undefined;
    if (ref.nodeId !== deps.nodeId) return deps.relay ? { owner: ref.nodeId, sessionId: ref.sessionId } : undefined;
    const local = deps.session(ref.sessionId);
    return local && { local };
  };

  const relayed = async (res: ServerResponse, owner: string, request: Parameters<LongPollRelay["forward"]>[1], waitMs: number) => {
    const exchange = deps.relay!.forward(owner, request, waitMs + RELAY_GRACE_MS);
    res.once("close", exchange.cancel);
    return exchange.answer;
  };

  const open = async (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => {
    if (!deps.accepting()) return answerStatus(res, 503);
    const negotiated = negotiate("longpoll", query, req);
    if (!negotiated) return answerStatus(res, 403);
    const remoteAddress = req.socket.remoteAddress ?? "";
    if (!(await deps.authorize({ params: negotiated.params, headers: req.headers, remoteAddress }))) return writeAnswer(res, { status: 403 });
    if (res.destroyed) return;
    deps.openSession(req, res, negotiated);
  };

  const poll = async (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => {
    const target = targetOf(req, query);
    if (!target) return open(req, res, query);
    if ("local" in target) {
      res.once("close", target.local.poll((answer) => writeAnswer(res, answer)));
      return;
    }
    const answer = await relayed(res, target.owner, { kind: "poll", sessionId: target.sessionId }, deps.windowMs);
    if (res.destroyed) return;
    // The owner is gone: like an unknown token, the poll opens a new session here.
    if (answer) writeAnswer(res, answer);
    else await open(req, res, query);
  };

  const post = async (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => {
    const target = targetOf(req, query);
    if (!target) return writeAnswer(res, { status: 410 });
    const read = await readBody(req, deps.maxBodyBytes);
    if (!read.ok) {
      // The rest of an oversized body is not worth reading: answer, then drop the connection.
      if (read.reason === "too_large") {
        res.setHeader("connection", "close");
        writeAnswer(res, { status: 413 });
      }
      return;
    }
    const body = read.body.toString("utf8");
    const contentType = req.headers["content-type"];
    let answer: LongPollAnswer | undefined;
    if ("local" in target) answer = postToSession(target.local, body, contentType, deps.maxBatchLines);
    else answer = await relayed(res, target.owner, { kind: "post", sessionId: target.sessionId, body, contentType }, 0);
    writeAnswer(res, answer ?? { status: 410 });
  };

  return async function handleLongPoll(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const origin = req.headers.origin;
    if (!deps.checkOrigin(origin)) return answerStatus(res, 403);
    if (origin !== undefined) {
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("vary", "origin");
    }
    switch (req.method) {
      case "GET":
        return poll(req, res, query);
      case "POST":
        return post(req, res, query);
      case "OPTIONS":
        return answerStatus(res, 204, {
          "access-control-allow-methods": ALLOWED_METHODS,
          "access-control-allow-headers": ALLOWED_HEADERS,
          "access-control-max-age": PREFLIGHT_MAX_AGE_S,
        });
      default:
        return answerStatus(res, 405, { allow: ALLOWED_METHODS });
    }
  };
}
