/**
 * Token bucket for client pushes: `ratePerSecond` sustained, bursts of twice that (a chat client
 * that reconnects replays its queued pushes at once). Refilled lazily on each take, so an idle
 * socket costs no timer.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt = performance.now();
  private readonly capacity: number;

  constructor(private readonly ratePerSecond: number) {
    this.capacity = ratePerSecond * 2;
    this.tokens = this.capacity;
  }

  take(): boolean {
    if (this.ratePerSecond <= 0) return true;
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) / 1000) * this.ratePerSecond);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
