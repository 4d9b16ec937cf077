import { error, noreply, ok, reply } from "@switchboard/channels";
import type { ChannelHandler } from "@switchboard/channels";

/**
 * The example `rooms:*` channel. It behaves exactly like the reference Phoenix server the
 * transcript was recorded against, so the conformance suite can replay that transcript:
 * join `{user}` (presence key, "anon" when absent), `{deny: true}` refused as unauthorized,
 * `echo` replies with its payload, `new_msg` broadcasts then replies `{sent: true}`,
 * `shout_from` and `typing` reach everyone but the sender, any other event crashes the channel.
 */
export const roomsChannel: ChannelHandler = {
  join(topic, payload) {
    if (isObject(payload) && payload.deny === true) return error({ reason: "unauthorized" });
    const user = isObject(payload) && typeof payload.user === "string" ? payload.user : "anon";
    return ok({ joined: topic }, { user });
  },

  afterJoin(channel) {
    channel.presence.track(String(channel.assigns.user), { online_at: String(Math.floor(Date.now() / 1000)) });
    channel.push("presence_state", channel.presence.list());
  },

  async handleIn(event, payload, channel) {
    switch (event) {
      case "echo":
        return reply("ok", payload);
      case "new_msg":
        await channel.broadcast("new_msg", payload);
        return reply("ok", { sent: true });
      case "shout_from":
      case "typing":
        await channel.broadcastFrom(event, payload);
        return noreply;
      default:
        throw new Error(`rooms channel has no handler for event ${JSON.stringify(event)}`);
    }
  },
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}
