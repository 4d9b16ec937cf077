import type { ChannelSocket } from "@switchboard/channels";
import type { Member } from "@switchboard/cluster";
import type { Broadcast, Frame, Serializer } from "@switchboard/protocol";
import type { Connection } from "@switchboard/transport";

/**
 * One client connection as the node tracks it and as the cluster delivers to it: methods rather
 * than a record plus two closures per connection (an idle node holds one per connection).
 */
export class ConnectionMember implements Member {
  readonly id: string;
  /** Read per member on every delivery: a field, not a getter. */
  readonly serializer: Serializer;

  constructor(
    readonly connection: Connection,
    readonly socket: ChannelSocket,
  ) {
    this.id = connection.id;
    this.serializer = connection.serializer;
  }

  write(frame: Frame): void {
    this.connection.write(frame);
  }

  intercept(broadcast: Broadcast, historyId?: string): boolean {
    return this.socket.intercept(broadcast, historyId);
  }
}
