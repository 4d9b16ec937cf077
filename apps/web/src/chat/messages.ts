/// <reference lib="dom" />
import { element, formatTime } from "../shared/dom.ts";

/** A chat line as the rooms channel broadcasts it (`new_msg`): the channel relays it untouched. */
export interface ChatMessage {
  readonly user: string;
  readonly body: string;
  /** Milliseconds since the epoch, by the sender's clock. */
  readonly sentAt: number;
}

// Longer bodies are cut on display: a demo room must stay readable whatever a client sends.
const MAX_DISPLAYED_BODY = 2_000;
// Older lines are dropped so a long-running tab keeps a bounded DOM.
const MAX_MESSAGES_SHOWN = 500;
// Lines by the same author this close together read as one turn: one avatar, one header.
const SAME_TURN_MS = 120_000;

export function toWire(message: ChatMessage): Record<string, string | number> {
  return { user: message.user, body: message.body, sent_at: message.sentAt };
}

export function fromWire(payload: unknown): ChatMessage | undefined {
  if (typeof payload !== "object" || payload === null) return undefined;
  const { user, body, sent_at: sentAt } = payload as Record<string, unknown>;
  if (typeof user !== "string" || typeof body !== "string") return undefined;
  return { user, body: body.slice(0, MAX_DISPLAYED_BODY), sentAt: typeof sentAt === "number" ? sentAt : Date.now() };
}

/** A stable hue per name, so each author keeps one avatar colour on every page. */
export function hueOf(name: string): number {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)!) >>> 0;
  return hash % 360;
}

export class MessageList {
  constructor(
    private readonly list: HTMLOListElement,
    private readonly me: () => string,
  ) {}

  private lastLine: { user: string; sentAt: number; item: HTMLLIElement } | undefined;

  add(message: ChatMessage): void {
    const item = element("li", message.user === this.me() ? "message mine" : "message");
    const previous = this.lastLine;
    if (previous?.item === this.list.lastElementChild && previous.user === message.user && message.sentAt - previous.sentAt < SAME_TURN_MS) {
      item.classList.add("continued");
    }
    this.lastLine = { user: message.user, sentAt: message.sentAt, item };
    const avatar = element("span", "avatar", message.user.slice(0, 1).toUpperCase());
    avatar.style.setProperty("--hue", String(hueOf(message.user)));
    avatar.setAttribute("aria-hidden", "true");
    const content = element("div");
    const meta = element("div", "meta");
    const time = element("time", undefined, formatTime(new Date(message.sentAt)));
    time.dateTime = new Date(message.sentAt).toISOString();
    meta.append(element("span", "author", message.user), time);
    content.append(meta, element("p", "body", message.body));
    item.append(avatar, content);
    this.append(item);
  }

  notice(text: string): void {
    this.append(element("li", "notice", text));
  }

  clear(): void {
    this.list.replaceChildren();
  }

  private append(item: HTMLLIElement): void {
    const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    this.list.append(item);
    while (this.list.childElementCount > MAX_MESSAGES_SHOWN) this.list.firstElementChild?.remove();
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
  }
}
