import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { longPollToken } from "./connect-params.ts";
import { answerStatus } from "./http-answers.ts";
import { writeAnswer } from "./longpoll-answer.ts";
import { parseBatch } from "./longpoll-batch.ts";
import type { PhoenixLongPollTransport } from "./longpoll-transport.ts";
import { negotiate } from "./negotiate.ts";
import { readBody } from "./read-body.ts";
import type { SessionTokens } from "./session-token.ts";
import type { ConnectInfo } from "./types.ts";
import type { Negotiated } from "./negotiate.ts";

const TOKEN_HEADER = "x-phoenix-longpoll-token";
const ALLOWED_METHODS = "GET, POST, OPTIONS";
const ALLOWED_HEADERS = "accept, content-type, x-phoenix-longpoll-token, x-phoenix-authtoken";
/** s a browser may cache our preflight answer: it never changes while the node runs. */
const PREFLIGHT_MAX_AGE_S = "600";

export interface LongPollEndpointDeps {
  nodeId: string;
  tokens: SessionTokens;
  maxBodyBytes: number;
  maxBatchLines: number;
  logger: Logger;
  checkOrigin(origin: string | undefined): boolean;
  accepting(): boolean;
  /** The local session a verified token names, if it is still open. */
  session(sessionId: string): PhoenixLongPollTransport | undefined;
  authorize(info: ConnectInfo): Promise<boolean>;
  /** Hands a new session's first GET to engine.io, whose handshake answers it (410 + token). */
  openSession(req: IncomingMessage, res: ServerResponse, negotiated: Negotiated): void;
}

/**
 * Phoenix.Transports.LongPoll over HTTP: CORS for browsers, then GET (open a session or poll one)
 * and POST (frames into a session). Answers are HTTP 200 with the real status in the JSON
 * (longpoll-answer.ts); only requests that never reach a session get bare HTTP statuses
 * (403 bad Origin or vsn, 405 other methods, 503 draining).
 */
export function longPollEndpoint(deps: LongPollEndpointDeps) {
  const sessionFor = (req: IncomingMessage, query: URLSearchParams): PhoenixLongPollTransport | undefined => {
    const header = req.headers[TOKEN_HEADER];
    const token = longPollToken(query) ?? (Array.isArray(header) ? header[0] : header);
    const ref = token ? deps.tokens.verify(token) : undefined;
    // A session owned by another node is unknown here until a relay routes it (the token names the owner).
    return ref && ref.nodeId === deps.nodeId ? deps.session(ref.sessionId) : undefined;
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

  const poll = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => {
    const session = sessionFor(req, query);
    if (!session) return open(req, res, query);
    const cancel = session.poll((answer) => writeAnswer(res, answer));
    res.once("close", cancel);
  };

  const post = async (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => {
    const session = sessionFor(req, query);
    if (!session) return writeAnswer(res, { status: 410 });
    const read = await readBody(req, deps.maxBodyBytes);
    if (!read.ok) {
      // The rest of an oversized body is not worth reading: answer, then drop the connection.
      if (read.reason === "too_large") {
        res.setHeader("connection", "close");
        writeAnswer(res, { status: 413 });
      }
      return;
    }
    const batch = parseBatch(read.body, req.headers["content-type"], { binary: session.context.binaryFrames, maxLines: deps.maxBatchLines });
    if (!batch.ok) {
      deps.logger.debug({ socket: session.sid, status: batch.status }, "longpoll batch refused");
      return writeAnswer(res, { status: batch.status });
    }
    writeAnswer(res, session.post(batch.frames));
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
