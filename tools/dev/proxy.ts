import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { connect, type AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";

/**
 * A development load balancer in front of several gateway nodes: every new HTTP request and every
 * WebSocket upgrade goes to the next node in turn. It is deliberately as unkind as a real
 * sticky-free balancer can be: consecutive requests of one LongPoll session land on different
 * nodes, so the cross-node session relay is exercised on every poll.
 */

export interface ProxyTarget {
  readonly host: string;
  readonly port: number;
}

export interface RoundRobinProxyOptions {
  readonly targets: readonly ProxyTarget[];
  /** 0 (default) picks a free port. */
  readonly port?: number;
  readonly host?: string;
  readonly logger?: Logger;
  /** Answer every WebSocket upgrade with 403, like a proxy that only speaks plain HTTP (LongPoll fallback). */
  readonly refuseUpgrades?: boolean;
}

export interface RoundRobinProxy {
  readonly url: string;
  readonly port: number;
  /** Requests and upgrades sent to each target so far, in target order. */
  routed(): number[];
  /** Takes a target out of the rotation, as a balancer's health check does with a dead node. */
  remove(index: number): void;
  close(): Promise<void>;
}

/** Names the node that answered, so a developer (or a test) can see the rotation at work. */
export const UPSTREAM_HEADER = "x-dev-proxy-upstream";
/** Headers of one connection, not of the request: never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"]);
/** Without a body these can be replayed on the next node when one refuses the connection (restarting). */
const REPLAYABLE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export async function startRoundRobinProxy(options: RoundRobinProxyOptions): Promise<RoundRobinProxy> {
  const { targets, logger } = options;
  if (targets.length === 0) throw new Error("round-robin proxy needs at least one target");
  const routed = targets.map(() => 0);
  const live = targets.map((_, index) => index);
  let cursor = 0;
  const nextTarget = (): number => {
    const index = live[cursor % live.length]!;
    cursor += 1;
    routed[index] = (routed[index] ?? 0) + 1;
    return index;
  };
  const upgraded = new Set<Duplex>();

  const forwardRequest = (req: IncomingMessage, res: ServerResponse, attempt: number): void => {
    const index = nextTarget();
    const target = targets[index] as ProxyTarget;
    const replayable = REPLAYABLE_METHODS.has(req.method ?? "");
    const upstream = request({
      host: target.host,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: forwardedHeaders(req),
      agent: false,
    });
    upstream.once("response", (answer) => {
      res.writeHead(answer.statusCode ?? 502, { ...endToEnd(answer.headers), [UPSTREAM_HEADER]: `${target.host}:${target.port}` });
      answer.pipe(res);
    });
    upstream.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNREFUSED" && replayable && attempt + 1 < live.length && !res.headersSent) {
        return forwardRequest(req, res, attempt + 1);
      }
      logger?.warn({ err: error, upstream: target.port, path: req.url }, "dev proxy: upstream request failed");
      if (!res.headersSent) {
        // Plain text, as real balancers answer: phoenix.js LongPoll reads a JSON body without
        // `status` as an unknown poll status and throws instead of retrying.
        res.writeHead(502, { "content-type": "text/plain; charset=utf-8" });
        res.end(`bad gateway: upstream ${target.host}:${target.port}: ${error.code ?? error.message}\n`);
      } else {
        res.destroy();
      }
    });
    res.once("close", () => upstream.destroy());
    if (replayable) upstream.end();
    else req.pipe(upstream);
  };

  const forwardUpgrade = (req: IncomingMessage, client: Duplex, head: Buffer, attempt: number): void => {
    const target = targets[nextTarget()] as ProxyTarget;
    const upstream = connect(target.port, target.host);
    let connected = false;
    upstream.once("connect", () => {
      connected = true;
      upgraded.add(client);
      upstream.write(upgradeHead(req));
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once("error", (error: NodeJS.ErrnoException) => {
      if (!connected && error.code === "ECONNREFUSED" && attempt + 1 < live.length && !client.destroyed) {
        return forwardUpgrade(req, client, head, attempt + 1);
      }
      logger?.warn({ err: error, upstream: target.port, path: req.url }, "dev proxy: upstream upgrade failed");
      client.destroy();
    });
    upstream.once("close", () => {
      if (connected) client.destroy();
    });
    client.once("close", () => {
      upgraded.delete(client);
      upstream.destroy();
    });
  };

  const server = createServer((req, res) => forwardRequest(req, res, 0));
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    if (options.refuseUpgrades) socket.end("HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    else forwardUpgrade(req, socket, head, 0);
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${host}:${port}`,
    port,
    routed: () => [...routed],
    remove(index) {
      if (live.length > 1 && live.includes(index)) live.splice(live.indexOf(index), 1);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of upgraded) socket.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));
}

function forwardedFor(req: IncomingMessage): string {
  return [req.headers["x-forwarded-for"], req.socket.remoteAddress].filter(Boolean).join(", ");
}

function forwardedHeaders(req: IncomingMessage): IncomingHttpHeaders {
  return { ...endToEnd(req.headers), "x-forwarded-for": forwardedFor(req) };
}

/** The upgrade request as it arrived (raw header order and case), plus X-Forwarded-For. */
function upgradeHead(req: IncomingMessage): string {
  const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
  for (let index = 0; index < req.rawHeaders.length; index += 2) {
    if (req.rawHeaders[index]?.toLowerCase() === "x-forwarded-for") continue;
    lines.push(`${req.rawHeaders[index]}: ${req.rawHeaders[index + 1]}`);
  }
  lines.push(`X-Forwarded-For: ${forwardedFor(req)}`);
  return `${lines.join("\r\n")}\r\n\r\n`;
}
