import type { BaseConnection } from "./connection.ts";
import { IDLE_CHECKS_PER_TIMEOUT } from "./limits.ts";

function checkEach(connections: ReadonlyMap<string, BaseConnection>): void {
  // A connection closed by its check leaves the map during the walk, which Map iteration allows.
  for (const connection of connections.values()) connection.checkIdle();
}

/**
 * The idle timeout of every connection of a server from one interval timer walking them
 * (`BaseConnection.checkIdle`), instead of a Timeout per connection refreshed on every frame: a
 * Timeout with its argument list is ≈ 210 B of heap per connection, and an idle node holds
 * thousands. Returns the function that stops the walk.
 */
export function sweepIdleConnections(connections: ReadonlyMap<string, BaseConnection>, idleTimeoutMs: number): () => void {
  const timer = setInterval(checkEach, idleTimeoutMs / IDLE_CHECKS_PER_TIMEOUT, connections);
  // The sweep alone does not keep a process alive: open sockets do.
  timer.unref();
  return () => clearInterval(timer);
}
