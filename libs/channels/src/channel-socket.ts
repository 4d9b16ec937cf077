import type { Logger } from "pino";
import { CloseCode, payloadValue } from "@switchboard/protocol";
import type { Broadcast, Frame, Message, Payload, Ref, Serializer } from "@switchboard/protocol";
import { ChannelTable } from "./channel-table.ts";
import type { Channel, ChannelHandler, ChannelPresence, SocketInfo, TerminateReason } from "./handler.ts";
import type { JoinAdmission } from "./join-admission.ts";
import type { Interception } from "./interception.ts";
import type { ChannelEvents, Fanout, HistoryReader, Meta, PresenceState, PresenceTracker, RecoveredMessage } from "./ports.ts";
import { ReplyError } from "./reply-errors.ts";
import type { Router } from "./router.ts";
import { TokenBucket } from "./rate-limit.ts";
import { TopicQueues } from "./topic-queue.ts";

/** The connection as this layer needs it; libs/transport's Connection satisfies it. */
export interface Wire {
  readonly id: string;
  readonly transport: string;
  readonly serializer: Serializer;
  readonly params: Readonly<Record<string, string>>;
  write(frame: Frame): void;
  close(code: number, reason?: string): void;
}

export interface ChannelLimits {
  /** Phoenix's `max_channels_per_transport` (100). */
  maxChannels: number;
  /** Bytes; 255 is also what a V2 binary frame can carry. */
  maxTopicBytes: number;
  maxEventBytes: number;
  /** Client pushes per second per socket, bursts of twice that; 0 disables the limit. */
  pushRatePerSecond: number;
}

export interface ChannelSocketOptions {
  router: Router<ChannelHandler>;
  fanout: Fanout;
  presence: PresenceTracker;
  limits: ChannelLimits;
  logger: Logger;
  assigns?: Record<string, unknown>;
  events?: ChannelEvents;
  /** Missed-message recovery for joins with `{"last_seen": id}`; without it such joins are plain joins. */
  history?: HistoryReader;
  /** The node's join budget per event-loop turn (one for every socket); without it joins start at once. */
  admission?: JoinAdmission;
  /** Shared by the node's sockets: kept up to date so the cluster can skip `intercept` per member. */
  interception?: Interception;
}

/** A live broadcast held back while a rejoining channel replays its history. */
interface HeldBroadcast {
  readonly broadcast: Broadcast;
  readonly historyId: string | undefined;
}

/**
 * One joined channel: the `Channel` its handler sees and this socket's bookkeeping for it, in one
 * object with methods rather than a dozen closures per join (an idle node holds one per member).
 * Handlers see it only through the `Channel` type.
 */
class ChannelState implements Channel {
  readonly joinedAt = Date.now();
  tracked = false;
  /** False once the channel left, crashed, was replaced by a duplicate join or its socket closed: its pushes are dropped. */
  current = true;
  /** The newest recorded broadcast this channel delivered: where a catch-up after an outage starts. */
  lastHistoryId?: string;
  /** Set while the node's subscriptions are lost: the catch-up starts after this id. */
  resumeAfter?: string;
  /** Set while history is replayed: live broadcasts wait here so none overtakes or repeats a replayed one. */
  held?: HeldBroadcast[];
  /**
   * The last replayed id. A broadcast recorded before the history read can still be on its way
   * (its publisher waits for the one before it); arriving after the replay it is a duplicate.
   */
  replayedUpTo?: string;

  constructor(
    readonly topic: string,
    readonly joinRef: Ref,
    readonly handler: ChannelHandler,
    readonly assigns: Record<string, unknown>,
    readonly socket: SocketInfo,
    private readonly wire: Wire,
    readonly ports: Pick<ChannelSocketOptions, "fanout" | "presence">,
  ) {}

  push(event: string, payload: Payload): void {
    if (this.current) this.wire.write(this.wire.serializer.encodePush({ joinRef: this.joinRef, ref: null, topic: this.topic, event, payload }));
  }

  broadcast(event: string, payload: Payload): Promise<void> {
    return this.ports.fanout.broadcast({ topic: this.topic, event, payload });
  }

  broadcastFrom(event: string, payload: Payload): Promise<void> {
    return this.ports.fanout.broadcast({ topic: this.topic, event, payload }, { exceptMemberId: this.socket.id });
  }

  /** A fresh handle per use: nothing is kept per channel for the few calls a handler makes. */
  get presence(): ChannelPresence {
    return new TrackedPresence(this);
  }
}

/**
 * Presence calls of a channel that is gone (left, crashed, replaced by a duplicate join, or its
 * socket closed) do nothing: a handler's async work can finish after that, and its late `track`
 * would otherwise leave an entry no leave ever removes, its late `untrack` remove the entry of the
 * channel that replaced it (both are keyed by topic and socket). Phoenix gets the same from the
 * tracker monitoring the channel process.
 */
class TrackedPresence implements ChannelPresence {
  constructor(private readonly channel: ChannelState) {}

  track(key: string, meta: Meta): string | undefined {
    const channel = this.channel;
    if (!channel.current) return undefined;
    channel.tracked = true;
    return channel.ports.presence.track(channel.topic, channel.socket.id, key, meta);
  }

  update(meta: Meta): void {
    const channel = this.channel;
    if (channel.current) channel.ports.presence.update(channel.topic, channel.socket.id, meta);
  }

  untrack(): void {
    const channel = this.channel;
    if (!channel.current) return;
    channel.tracked = false;
    channel.ports.presence.untrack(channel.topic, channel.socket.id);
  }

  list(): PresenceState {
    return this.channel.ports.presence.list(this.channel.topic);
  }
}

const HEARTBEAT_TOPIC = "phoenix";
/** Socket assigns are read-only to handlers: sockets without any share this one (an idle node holds thousands). */
const NO_ASSIGNS: Readonly<Record<string, unknown>> = Object.freeze({});
/**
 * Live broadcasts one channel holds while its node's subscriptions are down. Recorded broadcasts
 * wait for Redis before they go out, so only unrecorded local ones gather here; past this the
 * channel stops holding (and skips the catch-up) rather than grow without bound.
 */
const MAX_HELD_BROADCASTS = 10_000;

/**
 * One client socket's channels: Phoenix's `Phoenix.Socket` `handle_in` clauses as cases of
 * (channel entry, event). The channel table is private; handlers see `Channel` objects.
 *
 * Frames for one topic are handled in order, topics independently (see TopicQueues), so a slow
 * join on one topic never delays heartbeats or other channels.
 */
export class ChannelSocket {
  readonly info: SocketInfo;
  private readonly channels = new ChannelTable<ChannelState>();
  /** Joins whose handler is still running: they hold a slot against the channel limit. */
  private joining = 0;
  private readonly queues: TopicQueues;
  // Made on first use: most sockets of an idle node never push or log (memory per connection).
  private pushBudget: TokenBucket | undefined;
  private logger: Logger | undefined;
  private closed = false;
  /** The node's subscriptions are lost: channels joined meanwhile hold live broadcasts too. */
  private suspended = false;

  constructor(
    private readonly wire: Wire,
    private readonly options: ChannelSocketOptions,
  ) {
    this.info = { id: wire.id, transport: wire.transport, params: wire.params, assigns: options.assigns ?? NO_ASSIGNS };
    this.queues = new TopicQueues(this);
  }

  private get log(): Logger {
    return (this.logger ??= this.options.logger.child({ socket: this.wire.id }));
  }

  /** A queued task failed outside any handler (TopicQueues reports it here). */
  taskFailed(error: unknown): void {
    this.log.error({ err: error }, "channel task failed");
  }

  get channelCount(): number {
    return this.channels.size;
  }

  /** One raw client frame. Undecodable input closes the socket with 1011, as Phoenix does. */
  receive(frame: Frame): void {
    if (this.closed) return;
    const decoded = this.wire.serializer.decode(frame);
    if (!decoded.ok) {
      this.log.warn({ code: decoded.error.code, detail: decoded.error.detail }, "malformed frame, closing socket");
      this.options.events?.malformed?.(decoded.error.code);
      this.wire.close(CloseCode.MALFORMED_FRAME, decoded.error.code);
      return;
    }
    this.dispatch(decoded.message);
  }

  /** The connection is gone: leave every channel without writing anything. */
  closedByTransport(): void {
    if (this.closed) return;
    this.closed = true;
    for (const state of this.channels.entries()) this.removeChannel(state, "closed");
  }

  /**
   * Phoenix `intercept`: the cluster offers each broadcast here before writing the shared frame.
   * Returns true when this socket's channel handled (or dropped) it through `handleOut`, or holds
   * it until its history replay is done. `historyId` is the id a recorded broadcast carries.
   */
  intercept(broadcast: Broadcast, historyId?: string): boolean {
    const state = this.channels.get(broadcast.topic);
    if (state?.held) {
      if (state.held.length < MAX_HELD_BROADCASTS) {
        state.held.push({ broadcast, historyId });
        return true;
      }
      this.log.warn({ topic: state.topic, held: state.held.length }, "too many broadcasts held during an outage: delivering them, no catch-up");
      state.resumeAfter = undefined;
      this.releaseHeld(state);
    }
    if (state?.replayedUpTo !== undefined && historyId !== undefined && !this.options.history!.isAfter(historyId, state.replayedUpTo)) return true;
    if (state && historyId !== undefined) {
      // The same recorded broadcast twice in a row: a publish Redis ran but whose answer was
      // lost in a restart, retried by its publisher.
      if (historyId === state.lastHistoryId) return true;
      state.lastHistoryId = historyId;
    }
    const handler = state?.handler;
    if (!state || !handler?.handleOut || !handler.intercept?.includes(broadcast.event)) return false;
    try {
      const payload = handler.handleOut(broadcast.event, payloadValue(broadcast.payload), state);
      if (payload !== null) state.push(broadcast.event, payload);
    } catch (error) {
      this.crash(state, error);
    }
    return true;
  }

  private dispatch(message: Message): void {
    if (message.topic === HEARTBEAT_TOPIC && message.event === "heartbeat") {
      this.reply(message.joinRef, message.ref, message.topic, "ok", {});
      return;
    }
    switch (message.event) {
      case "phx_join":
        this.queues.run(message.topic, () => this.join(message));
        return;
      case "phx_leave":
        this.queues.run(message.topic, () => this.leave(message));
        return;
      default:
        this.queues.run(message.topic, () => this.handleIn(message));
    }
  }

  /**
   * The node lost its subscriptions (Redis went away): broadcasts from other nodes stop arriving.
   * Channels on recorded topics note where they are and hold live broadcasts until `resume`.
   */
  suspend(): void {
    if (this.closed || this.suspended) return;
    this.suspended = true;
    for (const state of this.channels.entries()) this.holdForCatchUp(state);
  }

  /**
   * The node is subscribed again: each held channel replays from history what was recorded after
   * its resume point and never reached it, then releases its live broadcasts (those the replay
   * carried are dropped), so the client sees every broadcast once and in order.
   */
  async resume(): Promise<void> {
    if (this.closed || !this.suspended) return;
    this.suspended = false;
    const history = this.options.history;
    if (!history) return;
    await Promise.all(
      this.channels.entries().map(async (state) => {
        const after = state.resumeAfter;
        if (after === undefined) return;
        state.resumeAfter = undefined;
        const missed = await history.after(state.topic, after).catch((error: unknown) => {
          this.log.warn({ err: error, topic: state.topic }, "history unavailable, broadcasts of the outage not caught up");
          return [];
        });
        if (this.channels.get(state.topic) !== state || this.closed) return;
        if (missed.length > 0) this.log.info({ topic: state.topic, missed: missed.length }, "caught up after resubscribing");
        this.replay(state, missed);
        this.releaseHeld(state);
      }),
    );
  }

  private holdForCatchUp(state: ChannelState): void {
    const history = this.options.history;
    if (!history?.records(state.topic) || state.resumeAfter !== undefined) return;
    state.resumeAfter = state.lastHistoryId ?? history.idBefore(state.joinedAt);
    this.hold(state);
  }

  private async join(message: Message): Promise<void> {
    const admitted = this.options.admission?.admit();
    if (admitted) {
      await admitted;
      if (this.closed) return;
    }
    const { topic, joinRef, ref, payload } = message;
    if (Buffer.byteLength(topic) > this.options.limits.maxTopicBytes) return this.refuseJoin(message, ReplyError.TOPIC_TOO_LONG, null);
    const handler = this.options.router.match(topic);
    if (!handler) return this.refuseJoin(message, ReplyError.UNMATCHED_TOPIC, null);

    // Duplicate join (a client that lost track of its channel, or a second tab's code sharing the
    // socket): Phoenix closes the old channel first; its phx_close goes out after the new reply.
    const previous = this.channels.get(topic);
    if (previous) this.removeChannel(previous, "duplicate_join");
    else if (this.channels.size + this.joining >= this.options.limits.maxChannels) return this.refuseJoin(message, ReplyError.TOO_MANY_CHANNELS, joinRef);

    let result;
    // Topic queues run one join per topic at a time, so a count is enough.
    this.joining += 1;
    try {
      result = await handler.join(topic, payload, this.info);
    } catch (error) {
      this.log.error({ err: error, topic }, "join handler crashed");
      this.refuseJoin(message, ReplyError.JOIN_CRASHED, joinRef);
      return this.closeReplaced(previous);
    } finally {
      this.joining -= 1;
    }
    if (this.closed) return;
    if ("error" in result) {
      const reason = isReasonPayload(result.error) ? result.error.reason : "refused";
      this.options.events?.joinRefused?.(topic, reason);
      this.reply(joinRef, ref, topic, "error", result.error);
      return this.closeReplaced(previous);
    }

    const state = new ChannelState(topic, joinRef, handler, result.assigns ?? {}, this.info, this.wire, this.options);
    this.options.interception?.joined(handler);
    this.channels.set(state);
    this.options.fanout.subscribe(this.wire.id, topic);
    const lastSeen = this.lastSeenOf(topic, payload);
    if (lastSeen === undefined) this.reply(joinRef, ref, topic, "ok", result.ok);
    else if (!(await this.recover(state, lastSeen, ref, result.ok))) return;
    if (this.suspended) this.holdForCatchUp(state);
    this.closeReplaced(previous);
    this.options.events?.joined?.(topic, this.wire.id);
    if (handler.afterJoin) {
      try {
        await handler.afterJoin(state);
      } catch (error) {
        this.crash(state, error);
      }
    }
  }

  // Methods rather than closures made per join: no functions allocated per join, and none to
  // name when run from sources through tsx (it keeps names with a defineProperty per function
  // made: ≈ 3.7 µs of a join in the join-rate profile; the bundles the image runs do not).
  private refuseJoin({ topic, ref }: Message, reason: string, replyJoinRef: Ref): void {
    this.options.events?.joinRefused?.(topic, reason);
    this.reply(replyJoinRef, ref, topic, "error", { reason });
  }

  /** The channel a duplicate join replaced says phx_close once the new join is answered. */
  private closeReplaced(previous: ChannelState | undefined): void {
    if (previous) this.push(previous.joinRef, previous.joinRef, previous.topic, "phx_close", {});
  }

  private lastSeenOf(topic: string, payload: Payload): string | undefined {
    if (!this.options.history?.records(topic) || !isObjectPayload(payload)) return undefined;
    return typeof payload.last_seen === "string" ? payload.last_seen : undefined;
  }

  /**
   * Rejoin with `last_seen`: subscribe (done), wait until the subscription is live on every node,
   * read history, answer the join with `recovered`, replay, then release the live broadcasts that
   * arrived meanwhile; from then on those the replay already carried are dropped (intercept).
   * False when the socket closed.
   */
  private async recover(state: ChannelState, lastSeen: string, ref: Ref, response: Payload): Promise<boolean> {
    const { topic, joinRef } = state;
    this.hold(state);
    await this.options.fanout.subscriptionsSettled?.();
    const recovery = await this.options.history!.since(topic, lastSeen).catch((error: unknown) => {
      this.log.warn({ err: error, topic }, "history unavailable, join answered recovered: false");
      return { recovered: false } as const;
    });
    if (this.channels.get(topic) !== state) return false;
    this.reply(joinRef, ref, topic, "ok", isObjectPayload(response) ? { ...response, recovered: recovery.recovered } : response);
    if (recovery.recovered) this.replay(state, recovery.messages);
    this.releaseHeld(state);
    return true;
  }

  private replay(state: ChannelState, messages: readonly RecoveredMessage[]): void {
    for (const message of messages) this.push(null, message.id, state.topic, message.event, message.payload);
    const last = messages.at(-1)?.id;
    if (last === undefined) return;
    state.replayedUpTo = last;
    state.lastHistoryId = last;
  }

  /** Live broadcasts held during a replay go out now, minus those the replay already carried. */
  private releaseHeld(state: ChannelState): void {
    const held = state.held ?? [];
    state.held = undefined;
    this.options.interception?.released(state);
    for (const { broadcast, historyId } of held) {
      if (this.intercept(broadcast, historyId)) continue;
      this.wire.write(historyId === undefined ? this.wire.serializer.encodeBroadcast(broadcast) : this.wire.serializer.encodePush({ joinRef: null, ref: historyId, ...broadcast }));
    }
  }

  private hold(state: ChannelState): void {
    state.held ??= [];
    this.options.interception?.holding(state);
  }

  private leave(message: Message): void {
    const state = this.channels.get(message.topic);
    if (state && this.isStale(message, state)) return;
    this.reply(message.joinRef, message.ref, message.topic, "ok", {});
    if (!state) return;
    this.push(state.joinRef, state.joinRef, state.topic, "phx_close", {});
    this.removeChannel(state, "leave");
  }

  private async handleIn(message: Message): Promise<void> {
    const { topic, event, ref, payload } = message;
    const state = this.channels.get(topic);
    if (!state) {
      this.reply(null, ref, topic, "error", { reason: ReplyError.UNMATCHED_TOPIC });
      return;
    }
    if (this.isStale(message, state)) return;
    if (!(this.pushBudget ??= new TokenBucket(this.options.limits.pushRatePerSecond)).take()) {
      this.options.events?.rateLimited?.();
      this.reply(state.joinRef, ref, topic, "error", { reason: ReplyError.RATE_LIMITED });
      return;
    }
    if (Buffer.byteLength(event) > this.options.limits.maxEventBytes) {
      this.reply(state.joinRef, ref, topic, "error", { reason: ReplyError.EVENT_TOO_LONG });
      return;
    }
    this.options.events?.pushed?.(topic, event);
    let result;
    try {
      if (!state.handler.handleIn) throw new Error(`no handleIn for event ${JSON.stringify(event)}`);
      result = await state.handler.handleIn(event, payload, state, { ref });
    } catch (error) {
      return this.crash(state, error);
    }
    // The channel may have been left, crashed or replaced while the handler ran.
    if (this.channels.get(topic) !== state || "noreply" in result) return;
    this.reply(state.joinRef, ref, topic, result.reply, result.response);
  }

  /**
   * A push carrying another join_ref than the channel's current one belongs to a channel instance
   * the client already replaced: Phoenix ≥ 1.8.3 drops it. V1 clients send no join_ref at all.
   */
  private isStale(message: Message, state: ChannelState): boolean {
    if (message.joinRef === null || message.joinRef === state.joinRef) return false;
    this.log.debug({ topic: message.topic, joinRef: message.joinRef, current: state.joinRef }, "stale join_ref dropped");
    this.options.events?.staleJoinRef?.(message.topic);
    return true;
  }

  /** The handler failed: this channel only goes away; the client rejoins on phx_error. */
  private crash(state: ChannelState, error: unknown): void {
    if (this.channels.get(state.topic) !== state) return;
    this.log.error({ err: error, topic: state.topic }, "channel crashed");
    this.options.events?.crashed?.(state.topic, error);
    this.push(state.joinRef, state.joinRef, state.topic, "phx_error", { reason: "channel_crash" });
    this.removeChannel(state, "crash");
  }

  /**
   * Unsubscribes before untracking presence, so the leaving socket does not receive the
   * `presence_diff` of its own leave (the reference server does not send it either).
   */
  private removeChannel(state: ChannelState, reason: TerminateReason): void {
    if (this.channels.get(state.topic) !== state) return;
    this.channels.delete(state.topic);
    state.current = false;
    this.options.interception?.released(state);
    this.options.fanout.unsubscribe(this.wire.id, state.topic);
    if (state.tracked) this.options.presence.untrack(state.topic, this.wire.id);
    this.options.events?.left?.(state.topic, this.wire.id, reason);
    try {
      state.handler.terminate?.(reason, state);
    } catch (error) {
      this.log.error({ err: error, topic: state.topic }, "terminate callback failed");
    }
  }

  private reply(joinRef: Ref, ref: Ref, topic: string, status: "ok" | "error", response: Payload): void {
    if (this.closed) return;
    this.wire.write(this.wire.serializer.encodeReply({ joinRef, ref, topic, status, response }));
  }

  private push(joinRef: Ref, ref: Ref, topic: string, event: string, payload: Payload): void {
    if (this.closed) return;
    this.wire.write(this.wire.serializer.encodePush({ joinRef, ref, topic, event, payload }));
  }
}

function isObjectPayload(payload: Payload): payload is Record<string, unknown> {
  return typeof payload === "object" && payload !== null && !Array.isArray(payload) && !(payload instanceof Uint8Array);
}

function isReasonPayload(payload: Payload): payload is { reason: string } {
  return typeof payload === "object" && payload !== null && typeof (payload as { reason?: unknown }).reason === "string";
}
