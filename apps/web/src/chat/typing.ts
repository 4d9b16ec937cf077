/// <reference lib="dom" />

// A typist re-announces itself at most this often, so a fast typist costs one push per 2 s...
export const TYPING_ANNOUNCE_MS = 2_000;
// ...and is shown as typing until a bit more than that has passed without a new announcement.
const TYPING_SHOWN_MS = 3_500;

/** Who else is typing, from `typing` broadcasts (broadcast_from: a tab never sees its own). */
export class TypingIndicator {
  private readonly typists = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly output: HTMLElement) {}

  typing(user: string): void {
    clearTimeout(this.typists.get(user));
    this.typists.set(
      user,
      setTimeout(() => this.stopped(user), TYPING_SHOWN_MS),
    );
    this.render();
  }

  stopped(user: string): void {
    clearTimeout(this.typists.get(user));
    if (this.typists.delete(user)) this.render();
  }

  clear(): void {
    for (const timer of this.typists.values()) clearTimeout(timer);
    this.typists.clear();
    this.render();
  }

  private render(): void {
    const names = [...this.typists.keys()].sort();
    this.output.textContent =
      names.length === 0 ? "" : names.length === 1 ? `${names[0]} is typing…` : names.length === 2 ? `${names[0]} and ${names[1]} are typing…` : `${names.length} people are typing…`;
  }
}

/** Calls `announce` on input, at most once per TYPING_ANNOUNCE_MS; `reset` after a send. */
export function typingAnnouncer(announce: () => void): { input(): void; reset(): void } {
  let last = 0;
  return {
    input() {
      const now = Date.now();
      if (now - last < TYPING_ANNOUNCE_MS) return;
      last = now;
      announce();
    },
    reset() {
      last = 0;
    },
  };
}
