/**
 * MAX_CONNECTIONS_PER_IP: open sockets per client address on this node (0 = no limit). It counts
 * the TCP peer, never X-Forwarded-For (a header any client can write); behind a load balancer the
 * peer is the balancer, so the limit belongs on the balancer there and stays 0 here.
 */
export interface IpLimit {
  /** Room for one more connection from this address. */
  admits(address: string): boolean;
  /** A connection from this address opened; false when it is one too many (a race past `admits`). */
  opened(address: string): boolean;
  closed(address: string): void;
}

export function createIpLimit(maxPerAddress: number): IpLimit {
  const open = new Map<string, number>();
  const countOf = (address: string) => open.get(address) ?? 0;
  return {
    admits: (address) => maxPerAddress === 0 || countOf(address) < maxPerAddress,
    opened(address) {
      const count = countOf(address) + 1;
      open.set(address, count);
      return maxPerAddress === 0 || count <= maxPerAddress;
    },
    closed(address) {
      const count = countOf(address) - 1;
      if (count > 0) open.set(address, count);
      else open.delete(address);
    },
  };
}
