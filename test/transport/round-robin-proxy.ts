import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

export interface RoundRobinProxy {
  url: string;
  /** The target index that served each request, in order. */
  served: number[];
  /** Takes a target out of the rotation (a dead node behind a load balancer). */
  remove(index: number): void;
  stop(): Promise<void>;
}

/** An HTTP proxy on 127.0.0.1 that sends every request to the next target in turn (no affinity at all) and refuses WebSocket upgrades. */
export async function startRoundRobinProxy(targets: string[]): Promise<RoundRobinProxy> {
  const live = targets.map((_, index) => index);
  const served: number[] = [];
  let turn = 0;
  const server = createServer((req, res) => {
    const index = live[turn++ % live.length]!;
    served.push(index);
    const target = new URL(req.url ?? "/", targets[index]);
    const upstream = request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  // Like a proxy that only speaks plain HTTP: every WebSocket upgrade is refused.
  server.on("upgrade", (_req, socket) => socket.end("HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    served,
    remove(index) {
      live.splice(live.indexOf(index), 1);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
