import { STATUS_CODES } from "node:http";
import type { ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

/** Refuses an upgrade with a bare HTTP status and no body (Phoenix answers a bad vsn or Origin with 403, body ""). */
export function refuseUpgrade(socket: Duplex, status: number): void {
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  else socket.destroy();
}

/** A plain HTTP status with an empty body, for requests that never reach a transport. */
export function answerStatus(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { ...headers, "content-length": 0 });
  res.end();
}
