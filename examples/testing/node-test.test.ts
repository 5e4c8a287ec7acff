// The node:test recipe of docs/testing.md: Node's own test runner, no other dependency. Run it
// with `node --import tsx --test examples/testing/node-test.test.ts` (test/examples-testing.
// test.ts does, as a child process). Copy it next to your application and change the imports.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { makeMockedRequest, makeTestClient, type TestClient } from "aiohttp-ts/test-utils";
import { createApp, greet } from "./app.js";

describe("the notes application (node:test)", () => {
  // A fresh application and server per test: state never leaks from one test to the next.
  let client: TestClient;
  beforeEach(async () => {
    client = await makeTestClient(createApp());
  });
  afterEach(async () => {
    await client.close();
  });

  test("greets by name", async () => {
    const resp = await client.get("/hello/ann", { params: { lang: "fr" } });
    assert.equal(resp.status, 200);
    assert.deepEqual(await resp.json(), { greeting: "Bonjour, ann" });
  });

  test("stores a note and lists it", async () => {
    const created = await client.post("/notes", { json: { text: "buy milk" } });
    assert.equal(created.status, 201);
    assert.deepEqual(await (await client.get("/notes")).json(), ["buy milk"]);
  });

  test("keeps the login cookie for the next request", async () => {
    await (await client.post("/login", { data: { user: "ann" } })).text();
    assert.deepEqual(await (await client.get("/me")).json(), { user: "ann" });
  });

  test("echoes over a WebSocket", async () => {
    await using ws = await client.wsConnect("/ws");
    await ws.sendStr("hi");
    assert.equal(await ws.receiveStr(), "echo: hi");
  });
});

test("greet() answers in English by default, without a server", async () => {
  const request = makeMockedRequest("GET", "/hello/bob", { matchInfo: { name: "bob" } });
  const resp = await greet(request);
  assert.equal(resp.status, 200);
  assert.deepEqual(JSON.parse(resp.text ?? ""), { greeting: "Hello, bob" });
});
