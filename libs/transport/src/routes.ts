import type { TransportKind } from "./types.ts";

/** Where engine.io's own clients connect under a mount point (engine.io's default path name). */
export const ENGINE_IO_PATH = "engine.io";

/**
 * Which transport a request path asks for. Every mount point serves `<mount>/websocket` and
 * `<mount>/longpoll` (phoenix.js appends the transport name to its endpoint), and `<mount>/engine.io/`
 * for engine.io clients; a mount point that itself ends in `/websocket` is also a WebSocket
 * endpoint, which is how tangram clients connect.
 */
export function routeTable(mountPaths: readonly string[]): Map<string, TransportKind> {
  const routes = new Map<string, TransportKind>();
  for (const raw of mountPaths) {
    const mount = raw.replace(/\/+$/, "");
    routes.set(`${mount}/websocket`, "websocket");
    routes.set(`${mount}/longpoll`, "longpoll");
    routes.set(`${mount}/${ENGINE_IO_PATH}`, "engineio");
    if (mount.endsWith("/websocket")) routes.set(mount, "websocket");
  }
  return routes;
}

export interface RoutedUrl {
  kind: TransportKind;
  query: URLSearchParams;
}

export function routeRequest(routes: Map<string, TransportKind>, url: string | undefined): RoutedUrl | undefined {
  if (!url) return undefined;
  const queryStart = url.indexOf("?");
  const path = (queryStart === -1 ? url : url.slice(0, queryStart)).replace(/\/+$/, "");
  const kind = routes.get(path);
  if (!kind) return undefined;
  return { kind, query: new URLSearchParams(queryStart === -1 ? "" : url.slice(queryStart + 1)) };
}
