// The vitest recipe of docs/testing.md, run by the project's own suite (vitest.config.ts
// includes this file). Copy it next to your application and change the imports.
//
// Under vitest, "aiohttp-ts" resolves through the package's exports map to dist/ (run
// `npm run build` first in this repository; an installed package has it already).

import { makeMockedRequest, makeTestClient, type TestClient } from "aiohttp-ts/test-utils";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createApp, greet } from "./app.js";

describe("the notes application (vitest)", () => {
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
    expect(resp.status).toBe(200);
    expect(await resp.json()).toEqual({ greeting: "Bonjour, ann" });
  });

  test("stores a note and lists it", async () => {
    const created = await client.post("/notes", { json: { text: "buy milk" } });
    expect(created.status).toBe(201);
    expect(await (await client.get("/notes")).json()).toEqual(["buy milk"]);
  });

  test("refuses a note without text", async () => {
    const resp = await client.post("/notes", { json: {} });
    expect(resp.status).toBe(400);
    expect(await resp.text()).toBe("text is required");
  });

  test("keeps the login cookie for the next request", async () => {
    const login = await client.post("/login", { data: { user: "ann" } });
    expect(await login.text()).toBe("welcome, ann");
    expect(login.cookies.get("user")?.value).toBe("ann");
    expect(await (await client.get("/me")).json()).toEqual({ user: "ann" });
  });

  test("echoes over a WebSocket", async () => {
    await using ws = await client.wsConnect("/ws");
    await ws.sendStr("hi");
    expect(await ws.receiveStr()).toBe("echo: hi");
  });
});

// A unit test of one handler, without a server.
test("greet() answers in English by default", async () => {
  const request = makeMockedRequest("GET", "/hello/bob", { matchInfo: { name: "bob" } });
  const resp = await greet(request);
  expect(resp.status).toBe(200);
  expect(JSON.parse(resp.text ?? "")).toEqual({ greeting: "Hello, bob" });
});

// `await using` closes the client at the end of the test, instead of a hook.
test("one client per test with `await using`", async () => {
  await using client = await makeTestClient(createApp());
  expect((await client.get("/me")).status).toBe(401);
});
