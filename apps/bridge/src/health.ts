import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * `/healthz` (the process is up; body tells whether this replica holds the lease, with its
 * counters) and `/readyz` (Redis reachable): the bridge holds no client sockets, so this is its
 * only HTTP surface, for orchestrators and tests.
 */
export async function startHealthServer(options: {
  host: string;
  port: number;
  status: () => Record<string, unknown>;
  ready: () => boolean;
}): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" || (path !== "/healthz" && path !== "/readyz")) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "not_found" }));
      return;
    }
    const ready = path === "/healthz" || options.ready();
    res.writeHead(ready ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify({ ...options.status(), ready: options.ready() }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
