// The chat history: rooms and messages in SQLite (better-sqlite3), one file under the data
// directory. WAL mode lets readers go on while one process writes, and lets several processes
// on one machine share the file; busy_timeout makes a writer wait for another's lock instead
// of failing.

import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { ChatMessage, RoomInfo } from "./types.js";

/** What the server needs from a history store; tests and other backends implement the same. */
export interface ChatStore {
  /** Names this database among those of other hosts (a random UUID kept in it). */
  readonly id: string;
  /** Every room, oldest first, with its message count. */
  rooms(): RoomInfo[];
  room(name: string): RoomInfo | undefined;
  /** Creates the room; `false` when it existed already. */
  createRoom(name: string): boolean;
  /** Stores a message (creating its room if needed) and returns it with its id and time. */
  addMessage(room: string, nick: string, text: string): ChatMessage;
  /**
   * Keeps a copy of a message that another database (`origin`) stored first, and returns it
   * with its id here. Copying the same message again returns the same copy, so every process
   * of a host may try.
   */
  importMessage(origin: string, message: ChatMessage): ChatMessage;
  /** Up to `limit` messages of the room before the id `before` (all, without it), oldest first. */
  messages(room: string, options: { before?: number; limit: number }): ChatMessage[];
  /** Up to `limit` messages of the room after the id `after`, oldest first. */
  messagesAfter(room: string, after: number, limit: number): ChatMessage[];
  close(): void;
}

/** The room every server starts with. */
export const DEFAULT_ROOM = "lobby";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rooms (
  name    TEXT PRIMARY KEY,
  created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
  id   INTEGER PRIMARY KEY AUTOINCREMENT,
  room TEXT NOT NULL REFERENCES rooms(name),
  nick TEXT NOT NULL,
  text TEXT NOT NULL,
  ts   INTEGER NOT NULL,
  -- For a copy of another database's message: that database's id and the message's id there.
  origin    TEXT,
  origin_id INTEGER,
  UNIQUE (origin, origin_id)
);
CREATE INDEX IF NOT EXISTS messages_by_room ON messages (room, id);
`;

const ROOM_COLUMNS = `r.name AS name, r.created AS created,
  (SELECT count(*) FROM messages m WHERE m.room = r.name) AS messages`;

/** Opens (creating if needed) `<dataDir>/chat.sqlite3`. */
export function openSqliteStore(dataDir: string): ChatStore {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, "chat.sqlite3"));
  // Set before anything else touches the file, so that a second process opening it waits.
  db.pragma("busy_timeout = 5000");
  db.pragma("journal_mode = WAL");
  // In WAL mode NORMAL loses no integrity on a crash, only the last transactions at worst.
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  db.exec(SCHEMA);

  const insertRoom = db.prepare<[string, number]>(
    "INSERT OR IGNORE INTO rooms (name, created) VALUES (?, ?)",
  );
  const selectRooms = db.prepare<[], RoomInfo>(
    `SELECT ${ROOM_COLUMNS} FROM rooms r ORDER BY r.created, r.name`,
  );
  const selectRoom = db.prepare<[string], RoomInfo>(
    `SELECT ${ROOM_COLUMNS} FROM rooms r WHERE r.name = ?`,
  );
  const insertMessage = db.prepare<[string, string, string, number]>(
    "INSERT INTO messages (room, nick, text, ts) VALUES (?, ?, ?, ?)",
  );
  const selectLatest = db.prepare<[string, number], ChatMessage>(
    "SELECT id, room, nick, text, ts FROM messages WHERE room = ? ORDER BY id DESC LIMIT ?",
  );
  const selectBefore = db.prepare<[string, number, number], ChatMessage>(
    "SELECT id, room, nick, text, ts FROM messages WHERE room = ? AND id < ? ORDER BY id DESC LIMIT ?",
  );
  const selectAfter = db.prepare<[string, number, number], ChatMessage>(
    "SELECT id, room, nick, text, ts FROM messages WHERE room = ? AND id > ? ORDER BY id LIMIT ?",
  );
  const insertCopy = db.prepare<[string, string, string, number, string, number]>(
    `INSERT OR IGNORE INTO messages (room, nick, text, ts, origin, origin_id)
     VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const selectCopy = db.prepare<[string, number], ChatMessage>(
    "SELECT id, room, nick, text, ts FROM messages WHERE origin = ? AND origin_id = ?",
  );
  const copy = db.transaction((origin: string, m: ChatMessage): ChatMessage => {
    insertRoom.run(m.room, m.ts);
    insertCopy.run(m.room, m.nick, m.text, m.ts, origin, m.id);
    return selectCopy.get(origin, m.id) as ChatMessage;
  });
  const add = db.transaction((room: string, nick: string, text: string): ChatMessage => {
    const ts = Date.now();
    insertRoom.run(room, ts);
    const { lastInsertRowid } = insertMessage.run(room, nick, text, ts);
    return { id: Number(lastInsertRowid), room, nick, text, ts };
  });

  insertRoom.run(DEFAULT_ROOM, Date.now());
  db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('id', ?)").run(randomUUID());
  const { value: id } = db.prepare("SELECT value FROM meta WHERE key = 'id'").get() as {
    value: string;
  };

  return {
    id,
    rooms: () => selectRooms.all(),
    room: (name) => selectRoom.get(name),
    createRoom: (name) => insertRoom.run(name, Date.now()).changes === 1,
    addMessage: (room, nick, text) => add(room, nick, text),
    importMessage: (origin, message) => copy(origin, message),
    messages(room, { before, limit }) {
      const newestFirst =
        before === undefined
          ? selectLatest.all(room, limit)
          : selectBefore.all(room, before, limit);
      return newestFirst.reverse();
    },
    messagesAfter: (room, after, limit) => selectAfter.all(room, after, limit),
    close: () => db.close(),
  };
}
