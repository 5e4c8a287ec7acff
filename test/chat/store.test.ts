// The chat's SQLite store on its own: history pages, and copies of other databases' messages.

import { describe, expect, test } from "vitest";
import { openSqliteStore } from "../../examples/chat/store.js";
import { useTempDirs } from "./helpers.js";

const tempDir = useTempDirs();

describe("the SQLite store", () => {
  test("keeps the history and its id across reopening", async () => {
    const dir = await tempDir();
    const first = openSqliteStore(dir);
    const stored = first.addMessage("lobby", "alice", "hello");
    const { id } = first;
    first.close();
    const again = openSqliteStore(dir);
    expect(again.id).toBe(id);
    expect(again.messages("lobby", { limit: 10 })).toEqual([stored]);
    again.close();
  });

  test("a copy of another database's message is kept once, under an id of its own", async () => {
    const here = openSqliteStore(await tempDir());
    const there = openSqliteStore(await tempDir());
    try {
      expect(here.id).not.toBe(there.id);
      here.addMessage("lobby", "bob", "a local one first");
      const original = there.addMessage("dev", "alice", "from there");
      const copy = here.importMessage(there.id, original);
      expect(copy).toMatchObject({
        room: "dev",
        nick: "alice",
        text: "from there",
        ts: original.ts,
      });
      // Every process of a host may copy it; the copy stays one.
      expect(here.importMessage(there.id, original)).toEqual(copy);
      expect(here.messages("dev", { limit: 10 })).toEqual([copy]);
      expect(here.room("dev")).toMatchObject({ messages: 1 });
    } finally {
      here.close();
      there.close();
    }
  });

  test("two processes' stores on one file share the history (WAL)", async () => {
    const dir = await tempDir();
    const a = openSqliteStore(dir);
    const b = openSqliteStore(dir);
    try {
      expect(a.id).toBe(b.id);
      const one = a.addMessage("lobby", "alice", "one");
      const two = b.addMessage("lobby", "bob", "two");
      expect(two.id).toBeGreaterThan(one.id);
      expect(a.messages("lobby", { limit: 10 })).toEqual([one, two]);
    } finally {
      a.close();
      b.close();
    }
  });
});
