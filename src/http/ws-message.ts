// The WebSocket message model shared by the server's WebSocketResponse and the client's
// ClientWebSocketResponse (aiohttp's WSMsgType, WSCloseCode and WSMessage).

/** Message types: RFC 6455 opcodes, plus aiohttp's states for the end of a stream. */
export const WSMsgType = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
  /** The close handshake has started. */
  CLOSING: 0x100,
  /** The connection is closed; iteration ends. */
  CLOSED: 0x101,
  /** The connection failed; `data` is the error. */
  ERROR: 0x102,
} as const;
export type WSMsgType = (typeof WSMsgType)[keyof typeof WSMsgType];

/** Close codes (RFC 6455 7.4.1 and the IANA registry). */
export const WSCloseCode = {
  OK: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  ABNORMAL_CLOSURE: 1006,
  INVALID_TEXT: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  MANDATORY_EXTENSION: 1010,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  BAD_GATEWAY: 1014,
} as const;
export type WSCloseCode = (typeof WSCloseCode)[keyof typeof WSCloseCode];

/** Shared by every message: `json()` parses a TEXT or BINARY payload. */
interface MessageBase {
  /** Parses the payload as JSON; throws `WSMessageTypeError` for other types. */
  json<T = unknown>(loads?: (text: string) => T): T;
}

/** A text message. */
export interface WSTextMessage extends MessageBase {
  readonly type: typeof WSMsgType.TEXT;
  readonly data: string;
  readonly extra: null;
}
/** A binary message. */
export interface WSBinaryMessage extends MessageBase {
  readonly type: typeof WSMsgType.BINARY;
  readonly data: Buffer;
  readonly extra: null;
}
/** A ping or pong (seen when `autoping` is off). */
export interface WSControlMessage extends MessageBase {
  readonly type: typeof WSMsgType.PING | typeof WSMsgType.PONG;
  readonly data: Buffer;
  readonly extra: null;
}
/** The peer's close frame: `data` is the code, `extra` the reason. */
export interface WSCloseMessage extends MessageBase {
  readonly type: typeof WSMsgType.CLOSE;
  readonly data: number;
  readonly extra: string;
}
/** The closing and closed states. */
export interface WSStateMessage extends MessageBase {
  readonly type: typeof WSMsgType.CLOSING | typeof WSMsgType.CLOSED;
  readonly data: null;
  readonly extra: null;
}
/** A failure: `data` is the error. */
export interface WSErrorMessage extends MessageBase {
  readonly type: typeof WSMsgType.ERROR;
  readonly data: Error;
  readonly extra: null;
}

/** A received message, discriminated on `type`. */
export type WSMessage =
  | WSTextMessage
  | WSBinaryMessage
  | WSControlMessage
  | WSCloseMessage
  | WSStateMessage
  | WSErrorMessage;

/** A message of an unexpected type (`receiveStr()` got BINARY, `json()` on CLOSE...). */
export class WSMessageTypeError extends TypeError {
  override readonly name = "WSMessageTypeError";
  readonly code = "AIOHTTP_WS_MESSAGE_TYPE";
  constructor(
    readonly expected: string,
    readonly actual: WSMsgType,
  ) {
    super(`Received message ${typeName(actual)}:${actual} is not ${expected}`);
  }
}

/** The name of a message type, e.g. `"TEXT"`. */
export function typeName(type: number): string {
  for (const [name, value] of Object.entries(WSMsgType)) if (value === type) return name;
  return `UNKNOWN(${type})`;
}

/** The one shape behind every message: `json()` lives on the prototype, not on each message. */
class Message {
  constructor(
    readonly type: WSMsgType,
    readonly data: unknown,
    readonly extra: string | null,
  ) {}

  json<T>(loads: (text: string) => T = JSON.parse): T {
    if (this.type === WSMsgType.TEXT) return loads(this.data as string);
    if (this.type === WSMsgType.BINARY) return loads((this.data as Buffer).toString("utf8"));
    throw new WSMessageTypeError("TEXT or BINARY", this.type);
  }
}

// Each builder pairs a type with the data of that type, which is what the union's members
// say; the casts only name the member.
/** Builds messages with the shared `json()` method. */
export const wsMessage = {
  text(data: string): WSTextMessage {
    return new Message(WSMsgType.TEXT, data, null) as WSTextMessage;
  },
  binary(data: Buffer): WSBinaryMessage {
    return new Message(WSMsgType.BINARY, data, null) as WSBinaryMessage;
  },
  ping(data: Buffer): WSControlMessage {
    return new Message(WSMsgType.PING, data, null) as WSControlMessage;
  },
  pong(data: Buffer): WSControlMessage {
    return new Message(WSMsgType.PONG, data, null) as WSControlMessage;
  },
  close(code: number, reason: string): WSCloseMessage {
    return new Message(WSMsgType.CLOSE, code, reason) as WSCloseMessage;
  },
  closing(): WSStateMessage {
    return new Message(WSMsgType.CLOSING, null, null) as WSStateMessage;
  },
  closed(): WSStateMessage {
    return new Message(WSMsgType.CLOSED, null, null) as WSStateMessage;
  },
  error(err: Error): WSErrorMessage {
    return new Message(WSMsgType.ERROR, err, null) as WSErrorMessage;
  },
};
