/// <reference lib="dom" />
import "./style.css";
import { renderConnection, watchConnection } from "../shared/connection-status.ts";
import { byId } from "../shared/dom.ts";
import { openSocket, pushAsync, watchPresence } from "../shared/phoenix.ts";
import type { PhxChannel, PhxSocket, TransportChoice } from "../shared/phoenix.ts";
import { fromWire, MessageList, toWire } from "./messages.ts";
import { renderPresence } from "./presence-list.ts";
import { TypingIndicator, typingAnnouncer } from "./typing.ts";

const ROOM_NAME = /^[A-Za-z0-9_-]{1,48}$/;
const TRANSPORT_KEY = "switchboard:transport";

const ui = {
  transport: byId("transport", HTMLSelectElement),
  connection: byId("connection", HTMLElement),
  lobby: byId("lobby", HTMLElement),
  joinForm: byId("join-form", HTMLFormElement),
  name: byId("name", HTMLInputElement),
  room: byId("room", HTMLInputElement),
  joinError: byId("join-error", HTMLElement),
  roomView: byId("room-view", HTMLElement),
  roomTitle: byId("room-title", HTMLElement),
  leave: byId("leave", HTMLButtonElement),
  messages: byId("messages", HTMLOListElement),
  typing: byId("typing", HTMLElement),
  composer: byId("composer", HTMLFormElement),
  message: byId("message", HTMLInputElement),
  sendError: byId("send-error", HTMLElement),
  presence: byId("presence", HTMLUListElement),
  onlineCount: byId("online-count", HTMLElement),
};

interface Session {
  readonly name: string;
  readonly room: string;
  readonly socket: PhxSocket;
  readonly channel: PhxChannel;
  readonly stopWatching: () => void;
}

let session: Session | undefined;
const messages = new MessageList(ui.messages, () => session?.name ?? "");
const typing = new TypingIndicator(ui.typing);
const announcer = typingAnnouncer(() => {
  if (session) session.channel.push("typing", { user: session.name });
});

function transportChoice(): TransportChoice {
  return ui.transport.value === "longpoll" ? "longpoll" : "websocket";
}

/** Connects and joins `rooms:<room>`; resolves once joined, rejects with the server's reason. */
async function enter(name: string, room: string): Promise<void> {
  const choice = transportChoice();
  const socket = openSocket(choice);
  const stopWatching = watchConnection(socket, choice, (state) => renderConnection(ui.connection, state));
  const channel = socket.channel(`rooms:${room}`, { user: name });
  session = { name, room, socket, channel, stopWatching };

  channel.on("new_msg", (payload) => {
    const message = fromWire(payload);
    if (!message) return;
    typing.stopped(message.user);
    messages.add(message);
  });
  channel.on("typing", (payload) => {
    const user = (payload as { user?: unknown } | null)?.user;
    if (typeof user === "string" && user !== name) typing.typing(user);
  });
  watchPresence(channel, (entries) => renderPresence(ui.presence, ui.onlineCount, entries, name));
  channel.onError(() => messages.notice("Connection lost, rejoining…"));

  try {
    await pushAsync(channel.join());
  } catch (error) {
    exit();
    throw error;
  }
}

function exit(): void {
  if (!session) return;
  const { socket, channel, stopWatching } = session;
  session = undefined;
  stopWatching();
  channel.leave();
  socket.disconnect();
  typing.clear();
  ui.connection.removeAttribute("data-phase");
  ui.connection.textContent = "Not connected";
}

function showRoom(room: string): void {
  ui.lobby.hidden = true;
  ui.roomView.hidden = false;
  ui.roomTitle.textContent = `#${room}`;
  document.title = `#${room} · switchboard chat`;
  ui.message.focus();
}

function showLobby(): void {
  ui.roomView.hidden = true;
  ui.lobby.hidden = false;
  document.title = "switchboard · chat";
  messages.clear();
  ui.presence.replaceChildren();
  ui.onlineCount.textContent = "0";
}

function rememberInUrl(): void {
  const url = new URL(location.href);
  url.searchParams.set("transport", transportChoice());
  if (session) url.searchParams.set("room", session.room);
  history.replaceState(null, "", url);
}

ui.joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = ui.name.value.trim();
  const room = ui.room.value.trim();
  if (!name) return void (ui.joinError.textContent = "Pick a name first.");
  if (!ROOM_NAME.test(room)) return void (ui.joinError.textContent = "Room names use letters, digits, - and _.");
  ui.joinError.textContent = "";
  const submit = ui.joinForm.querySelector("button");
  if (submit) submit.disabled = true;
  enter(name, room).then(
    () => {
      messages.clear();
      showRoom(room);
      rememberInUrl();
    },
    (error: unknown) => (ui.joinError.textContent = `Could not join: ${error instanceof Error ? error.message : String(error)}`),
  ).finally(() => {
    if (submit) submit.disabled = false;
  });
});

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const body = ui.message.value.trim();
  if (!session || !body) return;
  ui.message.value = "";
  ui.sendError.textContent = "";
  announcer.reset();
  pushAsync(session.channel.push("new_msg", toWire({ user: session.name, body, sentAt: Date.now() }))).catch(
    (error: unknown) => (ui.sendError.textContent = `Not sent: ${error instanceof Error ? error.message : String(error)}`),
  );
});

ui.message.addEventListener("input", () => announcer.input());

ui.leave.addEventListener("click", () => {
  exit();
  showLobby();
  ui.name.focus();
});

// Switching transport reconnects and rejoins the same room under the same name.
ui.transport.addEventListener("change", () => {
  localStorage.setItem(TRANSPORT_KEY, transportChoice());
  const current = session;
  rememberInUrl();
  if (!current) return;
  exit();
  enter(current.name, current.room).then(
    () => messages.notice(`Switched to ${ui.transport.selectedOptions[0]?.textContent ?? transportChoice()}`),
    (error: unknown) => {
      showLobby();
      ui.joinError.textContent = `Could not rejoin: ${error instanceof Error ? error.message : String(error)}`;
    },
  );
});

const params = new URLSearchParams(location.search);
ui.transport.value = params.get("transport") ?? localStorage.getItem(TRANSPORT_KEY) ?? "websocket";
if (ui.transport.selectedIndex < 0) ui.transport.value = "websocket";
const presetRoom = params.get("room");
if (presetRoom && ROOM_NAME.test(presetRoom)) ui.room.value = presetRoom;
ui.name.value = params.get("name") ?? "";
ui.name.focus();
