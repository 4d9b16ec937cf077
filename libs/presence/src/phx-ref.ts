import { randomBytes } from "node:crypto";

const INCARNATION_TAG_BYTES = 6;
const COUNTER_BYTES = 6;

/**
 * phx_ref values shaped like Phoenix's (16 url-safe characters). Unique across the cluster:
 * a random 48-bit tag per incarnation plus a 48-bit counter, so two nodes never collide and a
 * restarted node never reuses a ref its previous incarnation handed out.
 */
export function createRefGenerator(): () => string {
  const tag = randomBytes(INCARNATION_TAG_BYTES);
  let counter = 0;
  return () => {
    counter += 1;
    const bytes = Buffer.allocUnsafe(INCARNATION_TAG_BYTES + COUNTER_BYTES);
    tag.copy(bytes, 0);
    bytes.writeUIntBE(counter, INCARNATION_TAG_BYTES, COUNTER_BYTES);
    return bytes.toString("base64url");
  };
}
