import { request } from "node:http";
import { createConnection, createServer } from "node:net";

const POLL_INTERVAL_MS = 100;

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Whether `count` consecutive ports from `first` can all be bound on 127.0.0.1 right now. */
export async function portsFree(first: number, count: number): Promise<boolean> {
  for (let port = first; port < first + count; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    if (!free) return false;
  }
  return true;
}

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await canConnect(port))) {
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(POLL_INTERVAL_MS);
  }
}

/** Polls `GET url` until it answers 200, or throws after `timeoutMs`. */
export async function waitForHttpOk(url: string, timeoutMs: number, stillWorth: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await httpStatus(url)) !== 200) {
    if (!stillWorth()) throw new Error(`gave up waiting for ${url}`);
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await sleep(POLL_INTERVAL_MS);
  }
}

function httpStatus(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.once("timeout", () => req.destroy());
    req.once("error", () => resolve(undefined));
    req.end();
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
