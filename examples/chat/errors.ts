// Refusals the chat explains to its clients: the HTTP API answers them as JSON errors
// (middlewares.ts), the WebSocket as `{ type: "error" }` frames (ws.ts).

export class ChatError extends Error {
  override name = "ChatError";

  /**
   * @param status the HTTP status an API request gets for it
   * @param code a stable word a client can switch on ("bad_room", "too_long", ...)
   */
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  toJSON(): { status: number; code: string; message: string } {
    return { status: this.status, code: this.code, message: this.message };
  }
}
