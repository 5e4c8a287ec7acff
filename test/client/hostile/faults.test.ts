// Peer faults (issue 13, section 5): a server that resets in the middle of a download, a caller
// that aborts its `signal` before the answer and in the middle of the body, and a client that
// vanishes in the middle of an upload to our server. Resources are released (connections
// closed, no slot held) and the next request works. The full pool with a timeout is in
// silent.test.ts.
import { getEventListeners, once, setMaxListeners } from "node:events";
import { connect } from "node:net";
import { beforeAll, describe, expect, test } from "vitest";
import { ClientPayloadError, StreamClosedError, web } from "../../../src/index.js";
import { appWith, deferred, quiet, useRunners, useSessions, warmUpClient } from "../../helpers.js";
import { answer, expectCleanAndUsable, silence, useHostileServers } from "./hostile-server.js";

beforeAll(warmUpClient);

const hostile = useHostileServers();
const session = useSessions();

const MiB = 1024 * 1024;

describe("a server that resets mid-download", () => {
  test("after 1 MiB of 8: the read fails with ClientPayloadError, the next request works", async () => {
    const server = await hostile({
      "/big": (socket) => {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${8 * MiB}\r\n\r\n`);
        let sent = 0;
        const pump = (): void => {
          while (sent < MiB) {
            sent += 64 * 1024;
            if (!socket.write(Buffer.alloc(64 * 1024, 0x61))) {
              socket.once("drain", pump);
              return;
            }
          }
          socket.resetAndDestroy();
        };
        pump();
      },
    });
    const s = session();
    const resp = await s.get(`${server.url}/big`);
    let got = 0;
    const err = await (async () => {
      for await (const chunk of resp.content.iterChunked(64 * 1024)) got += chunk.length;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientPayloadError);
    expect(got).toBeLessThanOrEqual(MiB);
    await expectCleanAndUsable(s, server);
  });

  test("a chunked download reset between chunks: ClientPayloadError from read()", async () => {
    const server = await hostile({
      "/chunks": (socket) => {
        socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n", () =>
          socket.resetAndDestroy(),
        );
      },
    });
    const s = session();
    const resp = await s.get(`${server.url}/chunks`);
    expect(await resp.read().catch((e: unknown) => e)).toBeInstanceOf(ClientPayloadError);
    await expectCleanAndUsable(s, server);
  });
});

describe("an aborted signal", () => {
  test("before anything is sent: the signal's reason, no connection opened", async () => {
    const server = await hostile({});
    const s = session();
    const reason = new Error("changed my mind");
    const err = await s
      .get(`${server.url}/ok`, { signal: AbortSignal.abort(reason) })
      .catch((e: unknown) => e);
    expect(err).toBe(reason);
    expect(server.connections).toHaveLength(0);
    await expectCleanAndUsable(s, server);
  });

  test("while waiting for the head: AbortError, the connection closed", async () => {
    const arrived = deferred<void>();
    const server = await hostile({ "/silent": () => arrived.resolve() });
    const s = session();
    const controller = new AbortController();
    const pending = s.get(`${server.url}/silent`, { signal: controller.signal });
    await arrived.promise;
    controller.abort();
    const err = await pending.catch((e: unknown) => e);
    expect((err as Error).name).toBe("AbortError");
    await expectCleanAndUsable(s, server);
  });

  test("in the middle of the body: the read fails with AbortError, the connection closed", async () => {
    const server = await hostile({
      "/half": answer("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf."),
    });
    const s = session();
    const controller = new AbortController();
    const resp = await s.get(`${server.url}/half`, { signal: controller.signal });
    const reading = resp.read().catch((e: unknown) => e);
    controller.abort();
    expect(((await reading) as Error).name).toBe("AbortError");
    await expectCleanAndUsable(s, server);
  });

  test("in the middle of an upload: the request fails, the server sees the connection close", async () => {
    const arrived = deferred<void>();
    const server = await hostile({ "/never": silence });
    const s = session();
    const controller = new AbortController();
    async function* body(): AsyncGenerator<Buffer> {
      yield Buffer.from("first part");
      arrived.resolve();
      // Never yields again: the upload hangs until the signal ends it.
      await new Promise(() => {});
    }
    const pending = s
      .post(`${server.url}/never`, { data: body(), signal: controller.signal })
      .catch((e: unknown) => e);
    await arrived.promise;
    controller.abort();
    expect(((await pending) as Error).name).toBe("AbortError");
    await expectCleanAndUsable(s, server);
  });

  test("aborting many requests at once leaves no slot taken", async () => {
    const allArrived = deferred<void>();
    let seen = 0;
    const server = await hostile({
      "/silent": () => {
        if (++seen === 20) allArrived.resolve();
      },
    });
    const s = session();
    const controller = new AbortController();
    // Twenty requests on one signal are twenty listeners; past ten Node warns of a leak
    // (docs/client.md, Cancellation).
    setMaxListeners(20, controller.signal);
    const pending = Array.from({ length: 20 }, () =>
      s.get(`${server.url}/silent`, { signal: controller.signal }).catch((e: unknown) => e),
    );
    await allArrived.promise;
    expect(s.connector.active).toBe(20);
    controller.abort();
    for (const err of await Promise.all(pending)) expect((err as Error).name).toBe("AbortError");
    await expectCleanAndUsable(s, server);
  });
});

describe("a signal shared by many requests", () => {
  test("keeps no listener of ours once their bodies are read, concurrent or one by one", async () => {
    const server = await hostile({});
    const s = session();
    const { signal } = new AbortController();
    for (let i = 0; i < 15; i++) {
      const resp = await s.get(`${server.url}/ok`, { signal });
      expect(getEventListeners(signal, "abort")).toHaveLength(1);
      expect(await resp.text()).toBe("ok");
      expect(getEventListeners(signal, "abort")).toHaveLength(0);
    }
    const texts = await Promise.all(
      Array.from({ length: 10 }, async () => (await s.get(`${server.url}/ok`, { signal })).text()),
    );
    expect(texts).toEqual(Array(10).fill("ok"));
    expect(getEventListeners(signal, "abort")).toHaveLength(0);
  });
});

describe("a client that vanishes mid-upload, against our server", () => {
  const start = useRunners();

  test("the handler's read fails with a clear error and the server goes on", async () => {
    const failure = deferred<unknown>();
    const app = appWith(
      async (request) => {
        try {
          await request.read();
          failure.resolve(null);
        } catch (err) {
          failure.resolve(err);
          throw err;
        }
        return new web.Response({ text: "read" });
      },
      { logger: quiet },
    );
    const { port } = await start(app, { accessLog: null, logger: quiet });
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => {});
    await once(socket, "connect");
    socket.write(
      `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n${"x".repeat(1000)}`,
    );
    // Gone after a thousand bytes of a million.
    setImmediate(() => socket.destroy());
    const err = await failure.promise;
    expect(err).toBeInstanceOf(StreamClosedError);
    expect((err as StreamClosedError).code).toBe("AIOHTTP_STREAM_CLOSED");
    expect((err as Error).message).toMatch(/Connection closed before the body was complete/);
    const s = session();
    await using resp = await s.post(`http://127.0.0.1:${port}/upload`, { data: "whole" });
    expect(await resp.text()).toBe("read");
  });
});
