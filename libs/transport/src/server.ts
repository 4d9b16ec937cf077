import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { Server } from "engine.io";
import type { Socket } from "engine.io";
import { WebSocketServer } from "ws";
import type WebSocket from "ws";
import type { ServerOptions as WebSocketServerOptions } from "ws";
import { CloseCode } from "@switchboard/protocol";
import { chooseSubprotocol } from "./connect-params.ts";
import type { BaseConnection, ConnectionHost, Handshake } from "./connection.ts";
import { EngineConnection } from "./engine-connection.ts";
import { answerStatus, refuseUpgrade } from "./http-answers.ts";
import { sweepIdleConnections } from "./idle-sweep.ts";
import { CLOSE_HANDSHAKE_TIMEOUT_MS, ENGINE_PING_INTERVAL_MS, ENGINE_PING_TIMEOUT_MS } from "./limits.ts";
import { longPollEndpoint } from "./longpoll-endpoint.ts";
import { postToSession } from "./longpoll-session.ts";
import { PhoenixLongPollTransport } from "./longpoll-transport.ts";
import { negotiate } from "./negotiate.ts";
import { EngineIOCarrier } from "./engineio-carrier.ts";
import type { Negotiated } from "./negotiate.ts";
import { attachContext, contextOf, LONGPOLL_TRANSPORT, PhoenixTransport, registerTransport } from "./phoenix-transport.ts";
import type { FrameCarrier, TransportContext } from "./phoenix-transport.ts";
import { Rfc6455 } from "./rfc6455-codes.ts";
import { routeRequest, routeTable } from "./routes.ts";
import { sessionTokens } from "./session-token.ts";
import type { ConnectInfo, TransportKind, TransportOptions, TransportServer } from "./types.ts";
import { newConnectionId, PhoenixWebSocket, WebSocketConnection } from "./websocket-connection.ts";

/** engine.io protocol revision our transports declare (v3 would make engine.io expect client pings). */
const ENGINE_PROTOCOL = "4";

registerTransport(LONGPOLL_TRANSPORT, PhoenixLongPollTransport);

/**
 * A ws server answering the Phoenix subprotocol, with a shorter close handshake: ours for Phoenix
 * clients, and engine.io's for its own clients (engine.io builds it from options it chooses).
 */
class PhoenixWebSocketServer<T extends typeof WebSocket = typeof WebSocket> extends WebSocketServer<T> {
  constructor(options: WebSocketServerOptions<T>) {
    // closeTimeout is a ws 8.23 option its type declarations do not know yet.
    const phoenixOptions: WebSocketServerOptions<T> & { closeTimeout: number } = { ...options, handleProtocols: chooseSubprotocol, closeTimeout: CLOSE_HANDSHAKE_TIMEOUT_MS };
    super(phoenixOptions);
  }
}

type EngineRequest = IncomingMessage & { _query?: Record<string, string> };

/** engine.io clients poll first and upgrade to WebSocket, or start on WebSocket. */
const ENGINE_IO_TRANSPORTS = ["polling", "websocket"];

type Admission = { ok: true; negotiated: Negotiated; remoteAddress: string } | { ok: false; status: 403 | 503 };

/** engine.io's heartbeat between its Socket and our transports (see limits.ts); tests shorten it. */
export interface EngineHeartbeat {
  intervalMs: number;
  timeoutMs: number;
}

const ENGINE_HEARTBEAT: EngineHeartbeat = { intervalMs: ENGINE_PING_INTERVAL_MS, timeoutMs: ENGINE_PING_TIMEOUT_MS };

export function createTransportServer(options: TransportOptions, heartbeat: EngineHeartbeat = ENGINE_HEARTBEAT): TransportServer {
  const { logger } = options;
  // One listener for every socket: a closure made per upgrade would share handleUpgrade's scope and
  // keep its request alive for the connection's life.
  const onUpgradeSocketError = (error: Error) => logger.debug({ err: error }, "upgrade socket error");
  const engine = new Server({
    // engine.io's own transports serve engine.io clients (ENGINE_IO_PATH); Phoenix LongPoll clients
    // reach ours, named by our request step. Phoenix WebSockets never meet engine.io (phoenixSockets).
    transports: [...ENGINE_IO_TRANSPORTS, LONGPOLL_TRANSPORT] as unknown as ("websocket" | "polling")[],
    maxHttpBufferSize: options.maxFrameBytes,
    pingInterval: heartbeat.intervalMs,
    pingTimeout: heartbeat.timeoutMs,
    allowUpgrades: true,
    perMessageDeflate: false,
    httpCompression: false,
    wsEngine: PhoenixWebSocketServer,
  });
  // A stock Phoenix client's WebSocket is served here, without an engine.io Socket under it: its
  // heartbeat is inside the channel protocol, so engine.io's pings and timers would buy nothing.
  const phoenixSockets = new PhoenixWebSocketServer({
    noServer: true,
    clientTracking: false,
    maxPayload: options.maxFrameBytes,
    // Also what lets a connection write pre-built frames (ws-frame.ts): with no extension
    // negotiated, a frame's bytes are the same on every socket.
    perMessageDeflate: false,
    WebSocket: PhoenixWebSocket,
  });
  const routes = routeTable(options.paths);
  const tokens = sessionTokens(options.secret);
  const connections = new Map<string, BaseConnection>();
  const sessions = new Map<string, PhoenixLongPollTransport>();
  const counts: Record<TransportKind, number> = { websocket: 0, longpoll: 0, engineio: 0 };
  let accepting = true;

  const longPoll = { ...options.longPoll, issueToken: (sessionId: string) => tokens.issue({ nodeId: options.nodeId, sessionId, issuedAt: Date.now() }) };
  const contextFor = (negotiated: Negotiated): TransportContext => ({ ...negotiated, logger, longPoll });
  const engineQuery = (transport: string) => ({ transport, EIO: ENGINE_PROTOCOL });
  const authorize = async (info: ConnectInfo): Promise<boolean> => {
    if (!options.authorize) return true;
    try {
      return await options.authorize(info);
    } catch (error) {
      logger.warn({ err: error }, "authorize failed, refusing the connection");
      return false;
    }
  };

  /** Everything a new connection must pass before it opens: drain, Origin, vsn, connect/3. */
  const admit = async (kind: TransportKind, query: URLSearchParams, req: IncomingMessage): Promise<Admission> => {
    if (!accepting) return { ok: false, status: 503 };
    const negotiated = negotiate(kind, query, req);
    if (!negotiated || !options.checkOrigin(req.headers.origin)) return { ok: false, status: 403 };
    const remoteAddress = req.socket.remoteAddress ?? "";
    if (!(await authorize({ params: negotiated.params, headers: req.headers, remoteAddress }))) return { ok: false, status: 403 };
    return { ok: true, negotiated, remoteAddress };
  };

  const stopIdleSweep = sweepIdleConnections(connections, options.idleTimeoutMs);
  const host: ConnectionHost = {
    sendQueueBytes: options.sendQueueBytes,
    logger,
    ended(connection) {
      connections.delete(connection.id);
      sessions.delete(connection.id);
      counts[connection.transport]--;
    },
  };

  const accept = (connection: BaseConnection) => {
    connections.set(connection.id, connection);
    counts[connection.transport]++;
    try {
      options.onConnection(connection);
    } catch (error) {
      logger.error({ err: error, socket: connection.id }, "connection handler failed");
      // A handler that throws leaves the socket unusable.
      connection.close(Rfc6455.INTERNAL_ERROR, "internal error");
    }
  };

  const carrierOf = (socket: Socket): FrameCarrier | undefined => {
    if (socket.transport instanceof PhoenixTransport) return socket.transport;
    const context = contextOf(socket.request);
    return context && new EngineIOCarrier(socket, context);
  };

  engine.on("connection", (socket: Socket) => {
    const carrier = carrierOf(socket);
    if (!carrier) return socket.close(true);
    const connection = new EngineConnection(socket, carrier, host);
    if (carrier instanceof PhoenixLongPollTransport) sessions.set(connection.id, carrier);
    accept(connection);
  });
  engine.on("connection_error", (error: { code: number; message: string; req: IncomingMessage }) => {
    logger.debug({ code: error.code, message: error.message, url: error.req.url }, "engine.io refused a request");
  });

  const handleLongPoll = longPollEndpoint({
    nodeId: options.nodeId,
    tokens,
    windowMs: options.longPoll.windowMs,
    relay: options.longPoll.relay,
    maxBodyBytes: options.maxFrameBytes,
    maxBatchLines: options.longPoll.maxBatchLines,
    checkOrigin: options.checkOrigin,
    accepting: () => accepting,
    session: (sessionId) => sessions.get(sessionId),
    authorize,
    openSession(req, res, negotiated) {
      attachContext(req, contextFor(negotiated));
      (req as EngineRequest)._query = engineQuery(LONGPOLL_TRANSPORT);
      engine.handleRequest(req, res);
    },
  });

  options.longPoll.relay?.serve({
    poll(sessionId, respond) {
      const session = sessions.get(sessionId);
      if (session) return session.poll(respond);
      respond({ status: 410 });
      return () => undefined;
    },
    post(sessionId, body, contentType) {
      const session = sessions.get(sessionId);
      return session ? postToSession(session, body, contentType, options.longPoll.maxBatchLines) : { status: 410 };
    },
  });

  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer, query: URLSearchParams) => {
    const admission = await admit("websocket", query, req);
    if (!admission.ok) return refuseUpgrade(socket, admission.status);
    if (socket.destroyed) return;
    const handshake: Handshake = { serializer: admission.negotiated.serializer, params: admission.negotiated.params, remoteAddress: admission.remoteAddress };
    phoenixSockets.handleUpgrade(req, socket, head, (ws) => {
      // ws listens for the socket's errors from here on; with ours beside it the socket would keep
      // an array of two listeners for its life.
      socket.removeListener("error", onUpgradeSocketError);
      accept(new WebSocketConnection(newConnectionId(), handshake, ws, socket, host));
    });
  };

  /**
   * engine.io's own protocol, query and all: a handshake (no `sid`) is admitted like any Phoenix
   * connection; later requests of the session belong to engine.io alone. Its polling needs session
   * affinity (engine.io answers an unknown `sid` with 400), its WebSocket transport does not.
   */
  const engineIO = async (req: IncomingMessage, query: URLSearchParams, refuse: (status: number) => void, pass: () => void) => {
    const transport = query.get("transport");
    if (transport === null || !ENGINE_IO_TRANSPORTS.includes(transport)) return refuse(400);
    if (!query.has("sid")) {
      const admission = await admit("engineio", query, req);
      if (!admission.ok) return refuse(admission.status);
      attachContext(req, contextFor(admission.negotiated));
    } else if (!options.checkOrigin(req.headers.origin)) return refuse(403);
    pass();
  };

  return {
    handleRequest(req, res) {
      const route = routeRequest(routes, req.url);
      if (!route) return false;
      if (route.kind === "websocket") {
        answerStatus(res, 400);
        return true;
      }
      const handling =
        route.kind === "engineio"
          ? engineIO(req, route.query, (status) => answerStatus(res, status), () => engine.handleRequest(req, res))
          : handleLongPoll(req, res, route.query);
      handling.catch((error: unknown) => {
        logger.error({ err: error, url: req.url }, "longpoll request failed");
        answerStatus(res, 500);
      });
      return true;
    },
    handleUpgrade(req, socket, head) {
      const route = routeRequest(routes, req.url);
      if (!route) return false;
      socket.on("error", onUpgradeSocketError);
      if (route.kind === "longpoll") {
        refuseUpgrade(socket, 400);
        return true;
      }
      const handling =
        route.kind === "engineio"
          ? engineIO(req, route.query, (status) => refuseUpgrade(socket, status), () => engine.handleUpgrade(req, socket, head))
          : upgrade(req, socket, head, route.query);
      handling.catch((error: unknown) => {
        logger.error({ err: error, url: req.url }, "websocket upgrade failed");
        refuseUpgrade(socket, 500);
      });
      return true;
    },
    stopAccepting() {
      accepting = false;
    },
    connectionCount() {
      return { ...counts };
    },
    async close() {
      accepting = false;
      stopIdleSweep();
      for (const connection of [...connections.values()]) connection.close(CloseCode.GOING_AWAY, "server shutdown");
      engine.close();
    },
  };
}
