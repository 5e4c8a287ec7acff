// The list items both pages show: a message (nick, text, time) and a system line.

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

/** A message as an <li>; text only, never HTML, whatever the message holds. */
export function messageItem(message, mine = false) {
  const item = document.createElement("li");
  item.dataset.id = String(message.id);
  if (mine) item.classList.add("mine");
  const nick = document.createElement("span");
  nick.className = "nick";
  nick.textContent = message.nick;
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = message.text;
  const time = document.createElement("time");
  const date = new Date(message.ts);
  time.dateTime = date.toISOString();
  time.title = date.toLocaleString();
  time.textContent = timeFormat.format(date);
  item.append(nick, text, time);
  return item;
}

/** A line about the room (someone joined, left...). */
export function systemItem(text) {
  const item = document.createElement("li");
  item.className = "system";
  item.textContent = text;
  return item;
}
