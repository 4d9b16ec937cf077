import { Socket as EngineSocket } from "engine.io-client";
import type { TransportName } from "engine.io-client";
import { AUTH_TOKEN_SUBPROTOCOL_PREFIX } from "./connect-params.ts";
import { Rfc6455 } from "./rfc6455-codes.ts";
import { ENGINE_IO_PATH } from "./routes.ts";

/** phoenix.js reads a transport's readyState as WebSocket's numbers. */
const READY_STATES = { opening: 0, open: 1, closing: 2, closed: 3 } as const;

export interface CloseEventLike {
  code: number;
  reason: string;
  wasClean: boolean;
}

function toArrayBuffer(data: unknown): unknown {
  if (data instanceof ArrayBuffer || !(data instanceof Uint8Array)) return data;
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
}

/**
 * A phoenix.js `transport` built on engine.io-client, for networks where only engine.io's
 * polling → WebSocket upgrade gets through: `new Socket("/socket", { transport: EngineIOTransport })`.
 * Phoenix V2 frames travel inside engine.io messages; the endpoint `<mount>/websocket` becomes
 * `<mount>/engine.io/`, the connect params and vsn travel in its query, an `authToken` as the
 * `X-Phoenix-AuthToken` header (polling) or subprotocol (WebSocket).
 *
 * engine.io's polling needs session affinity; a subclass with `static transports = ["websocket"]`
 * needs none.
 */
export class EngineIOTransport {
  static transports: TransportName[] = ["polling", "websocket"];

  readonly engine: EngineSocket;
  /** Set by phoenix.js; engine.io-client always delivers binary frames as ArrayBuffer here. */
  binaryType = "arraybuffer";
  /** Set by phoenix.js (its LongPoll request timeout); engine.io has its own timeouts. */
  timeout = 0;
  onopen: (event: object) => void = () => undefined;
  onerror: (error: unknown) => void = () => undefined;
  onmessage: (event: { data: unknown }) => void = () => undefined;
  onclose: (event: CloseEventLike) => void = () => undefined;
  private closedByClient: { code: number; reason: string } | undefined;

  constructor(endPoint: string, protocols?: string[]) {
    const url = new URL(endPoint.replace(/^ws(s?):/, "http$1:"), globalThis.location?.href);
    const authProtocol = protocols?.find((protocol) => protocol.startsWith(AUTH_TOKEN_SUBPROTOCOL_PREFIX));
    this.engine = new EngineSocket(url.origin, {
      path: url.pathname.replace(/\/websocket\/?$/, `/${ENGINE_IO_PATH}/`),
      query: Object.fromEntries(url.searchParams),
      transports: (this.constructor as typeof EngineIOTransport).transports,
      ...(authProtocol ? { protocols, extraHeaders: { "x-phoenix-authtoken": atob(authProtocol.slice(AUTH_TOKEN_SUBPROTOCOL_PREFIX.length)) } } : {}),
    });
    this.engine.binaryType = "arraybuffer";
    this.engine.on("open", () => this.onopen({}));
    this.engine.on("message", (data: unknown) => this.onmessage({ data: toArrayBuffer(data) }));
    this.engine.on("error", (error: unknown) => this.onerror(error));
    this.engine.on("close", (reason: string) => {
      // A close the client did not ask for: phoenix.js reconnects after it.
      const closed = this.closedByClient;
      this.onclose(closed ? { ...closed, wasClean: true } : { code: Rfc6455.ABNORMAL_CLOSURE, reason, wasClean: false });
    });
  }

  get readyState(): number {
    return READY_STATES[this.engine.readyState];
  }

  send(data: string | ArrayBuffer): void {
    this.engine.send(data);
  }

  close(code = 1000, reason = ""): void {
    this.closedByClient = { code, reason };
    this.engine.close();
  }
}
