import type { ChannelHandler } from "./handler.ts";

/**
 * What a node's sockets share about interception (`ChannelSocket.intercept`), so the cluster can
 * ask once per broadcast whether any member could take it out of the shared frame path, instead
 * of asking every member (at saturation the per-member call was about a quarter of a node's
 * delivery JavaScript). A broadcast without a history id is intercepted by a channel only when
 * the channel holds live broadcasts (a replay or an outage) or its handler routes the event
 * through `handleOut`; recorded broadcasts are always offered (every channel tracks their ids).
 */
export class Interception {
  /** Events some joined channel's handler routes through `handleOut`: only grows, handlers are few. */
  private readonly interceptedEvents = new Set<string>();
  /** Channels holding live broadcasts now. A Set, so adding or removing one twice is harmless. */
  private readonly holdingChannels = new Set<object>();

  /** False when no channel of this node can intercept the broadcast. */
  mayIntercept(event: string, historyId: string | undefined): boolean {
    return historyId !== undefined || this.holdingChannels.size > 0 || this.interceptedEvents.has(event);
  }

  /** Before the channel joins its topic's room: no broadcast reaches it before this. */
  joined(handler: ChannelHandler): void {
    if (handler.handleOut === undefined || handler.intercept === undefined) return;
    for (const event of handler.intercept) this.interceptedEvents.add(event);
  }

  holding(channel: object): void {
    this.holdingChannels.add(channel);
  }

  released(channel: object): void {
    this.holdingChannels.delete(channel);
  }
}

/** One per node, given to every socket's options and asked by the cluster per broadcast. */
export function createInterception(): Interception {
  return new Interception();
}
