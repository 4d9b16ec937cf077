import WebSocket from "ws";
import * as phoenix from "phoenix";
import { issueToken } from "@switchboard/auth";
import { TEST_SECRET } from "../support/gateway.ts";
import { pushResult, type PhoenixModule, type PhxChannel } from "../clients/scenario.ts";

/**
 * The stock phoenix 1.8 client over `ws`, as the bridge suites use it: sockets that record every
 * event of every channel they join, so a suite can count deliveries exactly.
 */
const Phoenix = phoenix as unknown as PhoenixModule;

export interface Received {
  event: string;
  payload: unknown;
  at: number;
}

export interface JoinedChannel {
  readonly channel: PhxChannel;
  readonly received: Received[];
  /** Payloads of one event, in arrival order. */
  of(event: string): unknown[];
}

export function tokenFor(channel: string | string[], id = "user-1", ttlSeconds = 600): string {
  return issueToken({ id, channel, ttlSeconds, secret: TEST_SECRET });
}

export class StockClient {
  private readonly socket;

  constructor(wsUrl: string, transport: "websocket" | "longpoll" = "websocket") {
    this.socket = new Phoenix.Socket(`${transport === "websocket" ? wsUrl : wsUrl.replace(/^ws/, "http")}/socket`, {
      transport: transport === "websocket" ? WebSocket : Phoenix.LongPoll,
      reconnectAfterMs: () => 100,
      rejoinAfterMs: () => 200,
      logger: undefined,
    });
    this.socket.connect();
  }

  async join(topic: string, params: Record<string, unknown>, events: readonly string[] = []): Promise<{ status: string; response: unknown; joined: JoinedChannel }> {
    const channel = this.socket.channel(topic, params);
    const received: Received[] = [];
    for (const event of events) channel.on(event, (payload) => received.push({ event, payload, at: Date.now() }));
    const result = await pushResult(channel.join(3_000));
    if (result.status !== "ok") channel.leave(100);
    const joined: JoinedChannel = { channel, received, of: (event) => received.filter((r) => r.event === event).map((r) => r.payload) };
    return { ...result, joined };
  }

  async joinOrThrow(topic: string, params: Record<string, unknown>, events: readonly string[] = []): Promise<JoinedChannel> {
    const result = await this.join(topic, params, events);
    if (result.status !== "ok") throw new Error(`join ${topic} failed: ${JSON.stringify(result)}`);
    return result.joined;
  }

  disconnect(): void {
    this.socket.disconnect();
  }
}
