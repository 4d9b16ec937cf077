import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import type { Frame } from "@switchboard/protocol";
import { createTransportServer } from "@switchboard/transport";
import type { Connection, TransportOptions, TransportServer } from "@switchboard/transport";

export const ALLOWED_ORIGIN = "http://allowed.test";

export interface Closed {
  code: number;
  reason: string;
}

/** What the server side saw of one connection. */
export interface SeenConnection {
  connection: Connection;
  frames: Frame[];
  closed: Promise<Closed>;
}

export interface Harness {
  url: string;
  wsUrl: string;
  /** The http server: tests may add their own `upgrade` listeners after the harness's. */
  server: Server;
  transport: TransportServer;
  connections: SeenConnection[];
  /** The next connection the server accepts (already accepted ones included, in order). */
  connection(index: number, timeoutMs?: number): Promise<SeenConnection>;
  stop(): Promise<void>;
}

export type HarnessOptions = Partial<Omit<TransportOptions, "longPoll">> & { longPoll?: Partial<TransportOptions["longPoll"]> };

/**
 * An in-process http server on 127.0.0.1 with a transport server whose connections echo every
 * frame back (unless `onConnection` is given), recording what the server side saw.
 */
export async function startHarness(overrides: HarnessOptions = {}): Promise<Harness> {
  const connections: SeenConnection[] = [];
  const waiters: Array<() => void> = [];
  const { longPoll, onConnection, ...rest } = overrides;
  const transport = createTransportServer({
    paths: ["/socket", "/websocket"],
    checkOrigin: (origin) => origin === undefined || origin === ALLOWED_ORIGIN,
    idleTimeoutMs: 60_000,
    maxFrameBytes: 1024 * 1024,
    sendQueueBytes: 1024 * 1024,
    secret: "test-secret",
    nodeId: "node-a",
    logger: pino({ level: process.env.LOG_LEVEL ?? "silent" }),
    ...rest,
    longPoll: { windowMs: 20_000, sessionTimeoutMs: 15_000, maxBatchLines: 100, ...longPoll },
    onConnection(connection) {
      const frames: Frame[] = [];
      const closed = new Promise<Closed>((resolve) => connection.on("close", (code, reason) => resolve({ code, reason })));
      connection.on("frame", (frame) => frames.push(frame));
      connections.push({ connection, frames, closed });
      for (const wake of waiters.splice(0)) wake();
      if (onConnection) onConnection(connection);
      else connection.on("frame", (frame) => connection.write(frame));
    },
  });
  const server: Server = createServer((req, res) => {
    if (!transport.handleRequest(req, res)) {
      res.writeHead(404);
      res.end();
    }
  });
  server.on("upgrade", (req, socket, head) => {
    if (!transport.handleUpgrade(req, socket, head)) socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    server,
    transport,
    connections,
    async connection(index, timeoutMs = 2_000) {
      const deadline = Date.now() + timeoutMs;
      while (connections.length <= index) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`connection ${index} not accepted within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return connections[index]!;
    },
    async stop() {
      await transport.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Resolves with `promise`, or fails after `ms` naming what was awaited. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
