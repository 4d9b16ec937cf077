import WebSocket from "ws";

export type RawFrame = { text: string } | { binary: Buffer } | { close: { code: number; reason: string } };

/**
 * A bare WebSocket client that records every frame exactly as received, for byte-level
 * comparisons with the reference transcript.
 */
export class RawClient {
  readonly frames: RawFrame[] = [];
  private cursor = 0;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      this.frames.push(isBinary ? { binary: Buffer.from(data) } : { text: data.toString() });
      this.wake();
    });
    ws.on("close", (code: number, reason: Buffer) => {
      this.frames.push({ close: { code, reason: reason.toString() } });
      this.wake();
    });
  }

  static connect(url: string, options: WebSocket.ClientOptions & { protocols?: string[] } = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options.protocols ?? [], options);
      const client = new RawClient(ws);
      ws.once("open", () => resolve(client));
      ws.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      ws.once("error", reject);
    });
  }

  send(frame: string | Buffer | unknown[]): void {
    if (Buffer.isBuffer(frame)) this.ws.send(frame, { binary: true });
    else this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** The next unread frame, waiting up to `timeoutMs`. */
  async next(timeoutMs = 2_000): Promise<RawFrame> {
    const deadline = Date.now() + timeoutMs;
    while (this.cursor >= this.frames.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms (received so far: ${JSON.stringify(this.frames)})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.frames[this.cursor++]!;
  }

  async nextText(timeoutMs?: number): Promise<string> {
    const frame = await this.next(timeoutMs);
    if (!("text" in frame)) throw new Error(`expected a text frame, got ${JSON.stringify(frame)}`);
    return frame.text;
  }

  /** Asserts silence: no unread frame arrives within `ms`. */
  async nothingWithin(ms: number): Promise<RawFrame | undefined> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.frames[this.cursor];
  }

  close(): void {
    this.ws.close();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
