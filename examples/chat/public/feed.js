// The read-only feed page: the room's Server-Sent Events through the browser's EventSource,
// which reconnects by itself and resumes after the last message id it saw (Last-Event-ID).

import { messageItem, systemItem } from "./render.js";

const ROOM_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const hash = decodeURIComponent(location.hash.slice(1));
const room = ROOM_NAME.test(hash) ? hash : "lobby";
const url = `/rooms/${room}/events`;

const status = document.getElementById("status");
const messages = document.getElementById("messages");
document.getElementById("room-title").textContent = `#${room}`;
document.getElementById("raw-link").href = url;
document.getElementById("chat-link").href = `/#${room}`;
document.title = `#${room} feed - aiohttp-ts chat`;

function show(item) {
  messages.append(item);
  window.scrollTo(0, document.body.scrollHeight);
}

const source = new EventSource(url);
source.addEventListener("open", () => {
  status.dataset.state = "online";
  status.textContent = "following";
});
source.addEventListener("error", () => {
  status.dataset.state = "retrying";
  status.textContent = "reconnecting...";
});
source.addEventListener("message", (event) => {
  show(messageItem(JSON.parse(event.data)));
});
source.addEventListener("presence", (event) => {
  const { type, nick } = JSON.parse(event.data);
  show(systemItem(`${nick} ${type === "join" ? "joined" : "left"}`));
});
