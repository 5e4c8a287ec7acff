// What the chat's modules exchange: stored messages and the events that travel on the bus (and,
// as JSON, over the WebSocket and the SSE feed).

/** A message as stored and as every client sees it. */
export interface ChatMessage {
  /** Increases with each message in the store that wrote it. */
  id: number;
  room: string;
  nick: string;
  text: string;
  /** Milliseconds since the epoch, when the receiving server stored it. */
  ts: number;
}

/** A room, with the number of messages its history holds. */
export interface RoomInfo {
  name: string;
  messages: number;
  created: number;
}

/** What the bus carries for one room. */
export type RoomEvent =
  /** `origin` is the id of the store that wrote the message first (see store.ts). */
  | { type: "message"; message: ChatMessage; origin: string }
  | { type: "join"; room: string; nick: string }
  | { type: "leave"; room: string; nick: string };
