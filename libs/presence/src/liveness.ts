import type { Redis } from "ioredis";

/** Where each incarnation's liveness key lives; its existence is the only proof of life. */
export function livenessKey(prefix: string, incarnation: string): string {
  return `${prefix}presence:alive:${incarnation}`;
}

export function refreshLiveness(redis: Redis, prefix: string, incarnation: string, ttlMs: number): Promise<unknown> {
  return redis.set(livenessKey(prefix, incarnation), "1", "PX", ttlMs);
}

/** The incarnations whose key is gone, in one round trip. Rejects when Redis cannot answer: no verdict then. */
export async function expiredIncarnations(redis: Redis, prefix: string, incarnations: string[]): Promise<string[]> {
  if (incarnations.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const incarnation of incarnations) pipeline.exists(livenessKey(prefix, incarnation));
  const results = (await pipeline.exec()) ?? [];
  const expired: string[] = [];
  results.forEach(([error, exists], index) => {
    if (error) throw error;
    if (exists === 0) expired.push(incarnations[index]!);
  });
  return expired;
}
