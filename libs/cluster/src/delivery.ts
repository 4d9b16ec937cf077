import type { Logger } from "pino";
import type { Broadcast, Frame } from "@switchboard/protocol";
import type { Member } from "./api.ts";
import { envelopeOf, type Envelope } from "./envelope.ts";
import { valuesOf, withoutValue, withValue, type OneOrSet } from "./one-or-set.ts";

export interface DeliveryCounters {
  localDeliveries: number;
  deliveryErrors: number;
  malformed: number;
}

/**
 * One packet on its way to this node's members. The adapter encodes a packet once per broadcast
 * (through our encoder) and hands the same result to every matching socket, so this object is
 * where the frames are cached: one per wire format, the same Frame object for every member of
 * that format (Phoenix `dispatch/3` does the same per serializer).
 */
export class Delivery {
  private readonly framesByFormat = new Map<string, Frame>();

  constructor(
    private readonly envelope: Envelope,
    /** False when no member here can intercept this broadcast: `Member.intercept` is not called. */
    private readonly offerToMembers: boolean,
    private readonly counters: DeliveryCounters,
    private readonly logger: Logger,
  ) {}

  deliverTo(member: Member): void {
    try {
      const frame = this.frameFor(member);
      if (frame === undefined) return;
      member.write(frame);
      this.counters.localDeliveries++;
    } catch (error) {
      // One member's failing serializer or closed transport must not cost the others their frame.
      this.counters.deliveryErrors++;
      this.logger.error({ err: error, socket: member.id, topic: this.topic() }, "cluster delivery to a member failed");
    }
  }

  /** Undefined when the member intercepted the broadcast (it pushes on its own). */
  private frameFor(member: Member): Frame | undefined {
    const { envelope } = this;
    switch (envelope.kind) {
      case "broadcast":
        if (this.offerToMembers && member.intercept?.(envelope.broadcast, envelope.historyId)) return undefined;
        return this.sharedBroadcastFrame(member, envelope.broadcast, envelope.historyId);
      case "push":
        return member.serializer.encodePush(envelope.message);
      case "reply":
        return member.serializer.encodeReply(envelope.reply);
    }
  }

  /** A recorded broadcast is a push whose ref is its history id (a broadcast frame has no ref). */
  private sharedBroadcastFrame(member: Member, broadcast: Broadcast, historyId: string | undefined): Frame {
    const { format } = member.serializer;
    let frame = this.framesByFormat.get(format);
    if (frame === undefined) {
      frame = historyId === undefined ? member.serializer.encodeBroadcast(broadcast) : member.serializer.encodePush({ joinRef: null, ref: historyId, ...broadcast });
      this.framesByFormat.set(format, frame);
    }
    return frame;
  }

  private topic(): string {
    const { envelope } = this;
    switch (envelope.kind) {
      case "broadcast":
        return envelope.broadcast.topic;
      case "push":
        return envelope.message.topic;
      case "reply":
        return envelope.reply.topic;
    }
  }
}

/**
 * The adapter's `server.encoder`: instead of socket.io's packet format it returns one Delivery,
 * which the adapter passes unchanged to each socket's `client.writeToEngine`.
 */
export class DeliveryEncoder {
  constructor(
    private readonly counters: DeliveryCounters,
    private readonly logger: Logger,
    private readonly mayIntercept: ((event: string, historyId: string | undefined) => boolean) | undefined,
  ) {}

  encode(packet: unknown): Delivery[] {
    const envelope = envelopeOf(packet);
    if (envelope === undefined) {
      this.counters.malformed++;
      this.logger.warn("cluster message with an unknown packet shape dropped");
      return [];
    }
    const offerToMembers = envelope.kind === "broadcast" && (this.mayIntercept?.(envelope.broadcast.event, envelope.historyId) ?? true);
    return [new Delivery(envelope, offerToMembers, this.counters, this.logger)];
  }
}

/**
 * A member as the adapter sees a socket: `nsp.sockets` holds these and the adapter calls
 * `socket.client.writeToEngine(encodedPackets)`. The socket is its own client, so no
 * per-member closures exist. It also holds the member's topic rooms (the adapter's per-socket
 * Set of rooms is not used, see adapter.ts `joinRoom`): the first in a field, a Set from the
 * second, as most members are in one topic.
 */
export class MemberSocket {
  readonly client = this;
  private topicRooms: OneOrSet<string> | undefined;

  constructor(readonly member: Member) {}

  get id(): string {
    return this.member.id;
  }

  /** False if the member is in the room already. */
  enter(room: string): boolean {
    const rooms = withValue(this.topicRooms, room);
    if (rooms === undefined) return false;
    this.topicRooms = rooms;
    return true;
  }

  /** False if the member was not in the room. */
  leave(room: string): boolean {
    const rooms = withoutValue(this.topicRooms, room);
    if (rooms === false) return false;
    this.topicRooms = rooms;
    return true;
  }

  rooms(): string[] {
    return valuesOf(this.topicRooms);
  }

  writeToEngine(encodedPackets: readonly unknown[]): void {
    const delivery = encodedPackets[0];
    if (delivery instanceof Delivery) delivery.deliverTo(this.member);
  }
}
