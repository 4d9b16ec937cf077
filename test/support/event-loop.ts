/** Busy-waits `ms` without yielding: timers fall due and sockets fill meanwhile, as in a GC pause or on a starved CPU. */
export function stallEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}
