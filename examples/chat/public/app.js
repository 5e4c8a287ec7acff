// The chat page: plain DOM and the browser's own WebSocket, no build step. It renders text
// only (textContent), so a message can never become markup.

import { messageItem, systemItem } from "./render.js";

const $ = (id) => document.getElementById(id);
const els = {
  status: $("status"),
  nickForm: $("nick-form"),
  nick: $("nick"),
  nickButton: document.querySelector("#nick-form button"),
  rooms: $("rooms"),
  roomForm: $("room-form"),
  roomName: $("room-name"),
  roomTitle: $("room-title"),
  feedLink: $("feed-link"),
  log: $("log"),
  older: $("older"),
  empty: $("empty"),
  messages: $("messages"),
  composer: $("composer"),
  text: $("text"),
  send: document.querySelector("#composer button"),
  notice: $("notice"),
  members: $("members"),
  memberCount: $("member-count"),
  servedBy: $("served-by"),
};

const PAGE_SIZE = 50;
const ROOM_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

const state = {
  nick: null,
  room: roomFromHash(),
  socket: null,
  /** Reconnection attempts since the last successful welcome. */
  attempts: 0,
  retryTimer: 0,
  /** Whether the server said it was going away (1001), until the next welcome. */
  restarting: false,
  oldestId: null,
};

function roomFromHash() {
  const name = decodeURIComponent(location.hash.slice(1));
  return ROOM_NAME.test(name) ? name : "lobby";
}

function setStatus(kind, text) {
  els.status.dataset.state = kind;
  els.status.textContent = text;
}

function notify(text) {
  els.notice.textContent = text;
}

async function api(path, init = {}) {
  const response = await fetch(path, {
    ...init,
    headers: {
      Accept: "application/json",
      ...(init.body ? { "Content-Type": "application/json" } : {}),
    },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok)
    throw new Error(body.error?.message ?? `${response.status} ${response.statusText}`);
  return body;
}

// ---------------------------------------------------------------------------------------------
// Rendering

/** A message, marked as mine when I sent it. */
const ownItem = (message) => messageItem(message, message.nick === state.nick);

/** Keeps the view at the bottom when it was there, as chat windows do. */
function appendKeepingScroll(item) {
  const atBottom = els.log.scrollHeight - els.log.scrollTop - els.log.clientHeight < 40;
  els.messages.append(item);
  els.empty.hidden = true;
  if (atBottom) els.log.scrollTop = els.log.scrollHeight;
}

function showHistory(messages) {
  els.messages.replaceChildren(...messages.map(ownItem));
  state.oldestId = messages[0]?.id ?? null;
  els.older.hidden = messages.length < PAGE_SIZE;
  els.empty.hidden = messages.length > 0;
  els.log.scrollTop = els.log.scrollHeight;
}

function showMembers(members) {
  els.members.replaceChildren(
    ...members.map((nick) => {
      const item = document.createElement("li");
      item.textContent = nick;
      return item;
    }),
  );
  els.memberCount.textContent = String(members.length);
}

async function refreshMembers() {
  try {
    showMembers((await api(`/api/rooms/${state.room}/members`)).members);
  } catch {
    // The next join or leave tries again.
  }
}

async function refreshRooms() {
  try {
    const { rooms } = await api("/api/rooms");
    els.rooms.replaceChildren(
      ...rooms.map((room) => {
        const link = document.createElement("a");
        link.href = `#${room.name}`;
        link.textContent = `#${room.name}`;
        const count = document.createElement("small");
        count.textContent = String(room.messages);
        link.append(count);
        if (room.name === state.room) link.setAttribute("aria-current", "page");
        const item = document.createElement("li");
        item.append(link);
        return item;
      }),
    );
  } catch (err) {
    notify(`Could not load the rooms: ${err.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The live connection

function setComposer(enabled) {
  els.text.disabled = !enabled;
  els.send.disabled = !enabled;
  els.text.placeholder = enabled
    ? `Message #${state.room} as ${state.nick}`
    : state.nick
      ? "Connecting..."
      : "Choose a nickname to chat";
}

/** Names the worker process that holds the live connection, when the server runs several. */
function showWorker(worker) {
  els.servedBy.hidden = worker == null;
  els.servedBy.dataset.worker = worker == null ? "" : String(worker);
  els.servedBy.textContent = worker == null ? "" : `served by worker ${worker}`;
}

function onEvent(event) {
  switch (event.type) {
    case "welcome":
      state.attempts = 0;
      state.restarting = false;
      state.nick = event.nick;
      els.text.maxLength = event.maxText;
      showHistory(event.messages);
      showMembers(event.members);
      showWorker(event.worker);
      setStatus("online", `connected as ${event.nick}`);
      els.nickButton.textContent = "Change";
      setComposer(true);
      notify("");
      void refreshRooms(); // for the message counts, and rooms others opened
      break;
    case "message":
      appendKeepingScroll(ownItem(event.message));
      break;
    case "join":
    case "leave":
      if (event.nick !== state.nick) {
        appendKeepingScroll(
          systemItem(`${event.nick} ${event.type === "join" ? "joined" : "left"}`),
        );
      }
      void refreshMembers();
      break;
    case "error":
      notify(event.message);
      break;
  }
}

function connect() {
  clearTimeout(state.retryTimer);
  if (state.nick === null) return;
  const url = new URL(`/rooms/${state.room}/ws`, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(url);
  state.socket = socket;
  setStatus("retrying", state.attempts === 0 ? "connecting..." : "reconnecting...");
  socket.addEventListener("message", (message) => onEvent(JSON.parse(message.data)));
  socket.addEventListener("close", (close) => {
    if (state.socket !== socket) return; // replaced on purpose (another room, another nick)
    state.socket = null;
    setComposer(false);
    // Back off: 0.5 s, 1 s, 2 s ... up to 15 s, with jitter so that a restarted server is not
    // hit by every page at the same moment.
    const delay = Math.min(15_000, 500 * 2 ** state.attempts) * (0.75 + Math.random() / 2);
    state.attempts += 1;
    // A server that went away (1001) is most likely restarting: say so until it is back,
    // also over the failed attempts (1006) while it is down.
    if (close.code === 1001) state.restarting = true;
    const why = state.restarting ? "the server is restarting" : `connection lost (${close.code})`;
    setStatus("retrying", `${why}; retrying in ${Math.ceil(delay / 1000)} s`);
    state.retryTimer = setTimeout(connect, delay);
  });
}

function reconnectNow() {
  const old = state.socket;
  state.socket = null;
  state.attempts = 0;
  old?.close(1000, "switching");
  connect();
}

// ---------------------------------------------------------------------------------------------
// Forms and navigation

function enterRoom() {
  state.room = roomFromHash();
  els.roomTitle.textContent = `#${state.room}`;
  els.feedLink.href = `/static/feed.html#${state.room}`;
  document.title = `#${state.room} - aiohttp-ts chat`;
  els.messages.replaceChildren();
  els.older.hidden = true;
  showMembers([]);
  reconnectNow();
  void refreshRooms();
}

els.nickForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const { nick } = await api("/api/nick", {
      method: "POST",
      body: JSON.stringify({ nick: els.nick.value.trim() }),
    });
    state.nick = nick;
    notify("");
    reconnectNow(); // the new cookie goes with the new handshake
  } catch (err) {
    notify(err.message);
  }
});

els.roomForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const { room } = await api("/api/rooms", {
      method: "POST",
      body: JSON.stringify({ name: els.roomName.value.trim() }),
    });
    els.roomName.value = "";
    location.hash = room.name;
  } catch (err) {
    notify(err.message);
  }
});

els.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = els.text.value.trim();
  if (text === "" || state.socket?.readyState !== WebSocket.OPEN) return;
  state.socket.send(JSON.stringify({ type: "say", text }));
  els.text.value = "";
});

els.older.addEventListener("click", async () => {
  if (state.oldestId === null) return;
  try {
    const { messages } = await api(
      `/api/rooms/${state.room}/messages?before=${state.oldestId}&limit=${PAGE_SIZE}`,
    );
    const height = els.log.scrollHeight;
    els.messages.prepend(...messages.map(ownItem));
    els.log.scrollTop += els.log.scrollHeight - height; // keep what was on screen in place
    state.oldestId = messages[0]?.id ?? state.oldestId;
    els.older.hidden = messages.length < PAGE_SIZE;
  } catch (err) {
    notify(err.message);
  }
});

window.addEventListener("hashchange", enterRoom);

// ---------------------------------------------------------------------------------------------
// Start

const me = await api("/api/me").catch(() => ({ nick: null }));
state.nick = me.nick;
if (me.nick) els.nick.value = me.nick;
else {
  setStatus("offline", "choose a nickname");
  els.nick.focus();
}
enterRoom();
