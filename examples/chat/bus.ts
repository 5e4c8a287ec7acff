// Room events between the members of a room, wherever they are connected. Without Redis the
// bus is a map in this process; with REDIS_URL every server publishes to Redis and hears what
// every other server published, so members on other processes or hosts see the same events.
// The bus also knows who is in each room (presence), for the same reason.

import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { RoomEvent } from "./types.js";

export type RoomListener = (event: RoomEvent) => void;

/** Turns an event from the bus into what this process's listeners get (once per event). */
export type Inbound = (event: RoomEvent) => RoomEvent;

export interface Bus {
  /** Sends the event to every subscriber of its room, in every process on the bus. */
  publish(event: RoomEvent): Promise<void>;
  /** Calls `listener` for each event of `room` from now on; returns the unsubscribe function. */
  subscribe(room: string, listener: RoomListener): () => void;
  /** Counts one more connection of `nick` in `room` (a nick may have several tabs open). */
  join(room: string, nick: string): Promise<void>;
  leave(room: string, nick: string): Promise<void>;
  /** The nicks in `room` across the bus, sorted. */
  members(room: string): Promise<string[]>;
  close(): Promise<void>;
}

/** Delivers events to this process's subscribers, by room. */
class Subscribers {
  readonly #byRoom = new Map<string, Set<RoomListener>>();

  constructor(readonly inbound: Inbound) {}

  add(room: string, listener: RoomListener): () => void {
    let set = this.#byRoom.get(room);
    if (set === undefined) {
      set = new Set();
      this.#byRoom.set(room, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#byRoom.get(room) === set) this.#byRoom.delete(room);
    };
  }

  // `inbound` runs for every event, with listeners in the room or not: it is where another
  // host's message is copied into this host's history.
  deliver(received: RoomEvent): void {
    let event: RoomEvent;
    try {
      event = this.inbound(received);
    } catch (err) {
      console.error("chat bus: an event could not be taken in:", err);
      return;
    }
    const room = event.type === "message" ? event.message.room : event.room;
    for (const listener of this.#byRoom.get(room) ?? []) {
      try {
        listener(event);
      } catch (err) {
        // One broken listener must not keep the event from the others.
        console.error("chat bus: a listener failed:", err);
      }
    }
  }
}

/** Connections per nick per room, in this process. */
class Presence {
  readonly #rooms = new Map<string, Map<string, number>>();

  /** Adds `delta` connections of `nick` in `room`; returns how many it has now. */
  change(room: string, nick: string, delta: number): number {
    let nicks = this.#rooms.get(room);
    if (nicks === undefined) {
      nicks = new Map();
      this.#rooms.set(room, nicks);
    }
    const count = Math.max(0, (nicks.get(nick) ?? 0) + delta);
    if (count === 0) nicks.delete(nick);
    else nicks.set(nick, count);
    if (nicks.size === 0) this.#rooms.delete(room);
    return count;
  }

  nicks(room: string): string[] {
    return [...(this.#rooms.get(room)?.keys() ?? [])];
  }
}

/** The bus of a single process. */
export class LocalBus implements Bus {
  readonly #subscribers: Subscribers;
  readonly #presence = new Presence();

  constructor(inbound: Inbound = (event) => event) {
    this.#subscribers = new Subscribers(inbound);
  }

  async publish(event: RoomEvent): Promise<void> {
    this.#subscribers.deliver(event);
  }

  subscribe(room: string, listener: RoomListener): () => void {
    return this.#subscribers.add(room, listener);
  }

  async join(room: string, nick: string): Promise<void> {
    this.#presence.change(room, nick, 1);
  }

  async leave(room: string, nick: string): Promise<void> {
    this.#presence.change(room, nick, -1);
  }

  async members(room: string): Promise<string[]> {
    return this.#presence.nicks(room).sort();
  }

  async close(): Promise<void> {}
}

const CHANNEL_PREFIX = "chat:room:";
/** How long a server's presence entries outlive it if it dies without cleaning up. */
const ALIVE_TTL_S = 30;
const ALIVE_REFRESH_MS = 10_000;

/**
 * The bus over Redis pub/sub. Events go out on `chat:room:<room>`; one pattern subscription
 * hears every room, and this process's subscribers get the events of theirs (its own events
 * included, so that every process delivers in the order Redis does). Presence is a hash per
 * room, `chat:members:<room>`, with a field `<server id>|<nick>` counting that server's
 * connections; a server that stops refreshing `chat:alive:<server id>` (it crashed) drops
 * out of the member lists within 30 s.
 */
export class RedisBus implements Bus {
  readonly id = randomUUID();
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #subscribers: Subscribers;
  readonly #presence = new Presence();
  readonly #timer: NodeJS.Timeout;

  private constructor(pub: Redis, sub: Redis, inbound: Inbound) {
    this.#subscribers = new Subscribers(inbound);
    this.#pub = pub;
    this.#sub = sub;
    this.#sub.on("pmessage", (_pattern: string, channel: string, text: string) => {
      let event: RoomEvent;
      try {
        event = JSON.parse(text) as RoomEvent;
      } catch {
        // Something else published on our channels; it is not an event of ours.
        console.error(`chat bus: ignored a message on ${channel} that is not JSON`);
        return;
      }
      this.#subscribers.deliver(event);
    });
    this.#timer = setInterval(() => void this.#markAlive(), ALIVE_REFRESH_MS);
    this.#timer.unref();
  }

  /** Connects to `url` and subscribes; resolves once events published from now on arrive. */
  static async connect(url: string, inbound: Inbound = (event) => event): Promise<RedisBus> {
    // lazyConnect: connection errors reject here instead of being retried in the background.
    const pub = new Redis(url, { lazyConnect: true });
    const sub = new Redis(url, { lazyConnect: true });
    try {
      await Promise.all([pub.connect(), sub.connect()]);
      await sub.psubscribe(`${CHANNEL_PREFIX}*`);
    } catch (err) {
      pub.disconnect();
      sub.disconnect();
      throw err;
    }
    const bus = new RedisBus(pub, sub, inbound);
    await bus.#markAlive();
    return bus;
  }

  async #markAlive(): Promise<void> {
    try {
      await this.#pub.set(`chat:alive:${this.id}`, "1", "EX", ALIVE_TTL_S);
    } catch (err) {
      console.error("chat bus: cannot reach Redis:", (err as Error).message);
    }
  }

  async publish(event: RoomEvent): Promise<void> {
    const room = event.type === "message" ? event.message.room : event.room;
    await this.#pub.publish(`${CHANNEL_PREFIX}${room}`, JSON.stringify(event));
  }

  subscribe(room: string, listener: RoomListener): () => void {
    return this.#subscribers.add(room, listener);
  }

  async join(room: string, nick: string): Promise<void> {
    await this.#store(room, nick, this.#presence.change(room, nick, 1));
  }

  async leave(room: string, nick: string): Promise<void> {
    await this.#store(room, nick, this.#presence.change(room, nick, -1));
  }

  // Commands on one connection run in the order they were sent, so writing the count this
  // process holds (rather than HINCRBY) keeps Redis equal to it whatever interleaves.
  async #store(room: string, nick: string, count: number): Promise<void> {
    const field = `${this.id}|${nick}`;
    if (count === 0) await this.#pub.hdel(`chat:members:${room}`, field);
    else await this.#pub.hset(`chat:members:${room}`, field, String(count));
  }

  async members(room: string): Promise<string[]> {
    const key = `chat:members:${room}`;
    const fields = Object.keys(await this.#pub.hgetall(key));
    const servers = [...new Set(fields.map((field) => field.slice(0, field.indexOf("|"))))];
    if (servers.length === 0) return [];
    const alive = await this.#pub.mget(servers.map((id) => `chat:alive:${id}`));
    const live = new Set(servers.filter((_, i) => alive[i] !== null));
    const nicks = new Set<string>();
    const dead: string[] = [];
    for (const field of fields) {
      const bar = field.indexOf("|");
      if (live.has(field.slice(0, bar))) nicks.add(field.slice(bar + 1));
      else dead.push(field);
    }
    if (dead.length > 0) await this.#pub.hdel(key, ...dead);
    return [...nicks].sort();
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#pub.del(`chat:alive:${this.id}`);
    await Promise.allSettled([this.#sub.quit(), this.#pub.quit()]);
  }
}

/** The Redis bus when `redisUrl` is set, else the in-process one. */
export async function openBus(redisUrl: string | undefined, inbound?: Inbound): Promise<Bus> {
  return redisUrl ? RedisBus.connect(redisUrl, inbound) : new LocalBus(inbound);
}
