/// <reference lib="dom" />
import { element } from "../shared/dom.ts";
import type { PresenceEntry } from "../shared/phoenix.ts";

/** Renders who is online: one line per user, however many tabs, with the tab count. */
export function renderPresence(list: HTMLUListElement, count: HTMLElement, entries: PresenceEntry[], me: string): void {
  const sorted = [...entries].sort((a, b) => a.key.localeCompare(b.key));
  list.replaceChildren(
    ...sorted.map(({ key, metas }) => {
      const item = element("li");
      item.dataset.user = key;
      item.dataset.tabs = String(metas.length);
      item.append(element("span", "name", key));
      if (key === me) item.append(element("span", "me", "you"));
      if (metas.length > 1) item.append(element("span", "tabs", `${metas.length} tabs`));
      return item;
    }),
  );
  count.textContent = String(sorted.length);
}
