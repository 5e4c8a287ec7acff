// SOCKS5 proxies (`socks5://`, `socks5h://`) through undici's SOCKS5 agent, against a small
// SOCKS5 server made here (RFC 1928, with RFC 1929 username/password authentication).

import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { BasicAuth, ClientProxyConnectionError, ClientSession, web } from "../../src/index.js";
import { rejection, useTestClients } from "../helpers.js";

/** What the SOCKS5 server was asked: the target (`host:port`) and the user, if any. */
interface SocksRequest {
  target: string;
  user: string | undefined;
}

interface SocksServer {
  readonly port: number;
  readonly requests: SocksRequest[];
  close(): Promise<void>;
}

/** Reads exactly `n` bytes from `socket`. */
async function read(socket: Socket, n: number, buffered: { data: Buffer }): Promise<Buffer> {
  while (buffered.data.length < n) {
    const [chunk] = (await once(socket, "data")) as [Buffer];
    buffered.data = Buffer.concat([buffered.data, chunk]);
  }
  const out = buffered.data.subarray(0, n);
  buffered.data = buffered.data.subarray(n);
  return out;
}

/** A SOCKS5 server on loopback; with `auth`, it requires those credentials. */
async function startSocks5(auth?: { user: string; password: string }): Promise<SocksServer> {
  const requests: SocksRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on("error", () => client.destroy());
    void (async () => {
      const buf = { data: Buffer.alloc(0) };
      const [, nMethods] = await read(client, 2, buf);
      const methods = await read(client, nMethods ?? 0, buf);
      let user: string | undefined;
      if (auth === undefined) {
        client.write(Buffer.from([5, 0]));
      } else {
        if (!methods.includes(2)) {
          client.end(Buffer.from([5, 0xff]));
          return;
        }
        client.write(Buffer.from([5, 2]));
        const [, userLength] = await read(client, 2, buf);
        user = (await read(client, userLength ?? 0, buf)).toString();
        const [passwordLength] = await read(client, 1, buf);
        const password = (await read(client, passwordLength ?? 0, buf)).toString();
        const ok = user === auth.user && password === auth.password;
        client.write(Buffer.from([1, ok ? 0 : 1]));
        if (!ok) {
          client.end();
          return;
        }
      }
      const [, , , type] = await read(client, 4, buf);
      let host: string;
      if (type === 1) host = [...(await read(client, 4, buf))].join(".");
      else if (type === 3) {
        const [length] = await read(client, 1, buf);
        host = (await read(client, length ?? 0, buf)).toString();
      } else {
        client.end(Buffer.from([5, 8, 0, 1, 0, 0, 0, 0, 0, 0]));
        return;
      }
      const port = (await read(client, 2, buf)).readUInt16BE(0);
      requests.push({ target: `${host}:${port}`, user });
      const upstream = connect(port, host === "localhost" ? "127.0.0.1" : host);
      sockets.add(upstream);
      upstream.on("error", () => {
        // Reply 5: connection refused.
        client.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]));
      });
      upstream.once("connect", () => {
        client.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
        if (buf.data.length > 0) upstream.write(buf.data);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    })().catch(() => client.destroy());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return {
    port: address.port,
    requests,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("SOCKS5 proxies", () => {
  const serve = useTestClients();
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function socks(auth?: { user: string; password: string }): Promise<SocksServer> {
    const s = await startSocks5(auth);
    cleanups.push(() => s.close());
    return s;
  }

  function session(options: ConstructorParameters<typeof ClientSession>[0] = {}): ClientSession {
    const s = new ClientSession(options);
    cleanups.push(() => s.close());
    return s;
  }

  async function target(): Promise<URL> {
    const app = new web.Application();
    app.router.addGet("/", () => new web.Response({ text: "via socks" }));
    return new URL((await serve(app)).server.baseUrl);
  }

  it.each(["socks5", "socks5h"])("sends requests through a %s:// proxy", async (scheme) => {
    const base = await target();
    const proxy = await socks();
    const resp = await session({ proxy: `${scheme}://127.0.0.1:${proxy.port}` }).get(
      `http://localhost:${base.port}/`,
    );
    expect(await resp.text()).toBe("via socks");
    // The proxy got the name, not an address: it resolves it.
    expect(proxy.requests).toEqual([{ target: `localhost:${base.port}`, user: undefined }]);
  });

  it("authenticates with the URL's credentials or proxyAuth", async () => {
    const base = await target();
    const proxy = await socks({ user: "su", password: "sp" });
    const viaUrl = await session().get(`${base.origin}/`, {
      proxy: `socks5://su:sp@127.0.0.1:${proxy.port}`,
    });
    expect(await viaUrl.text()).toBe("via socks");
    const viaOption = await session().get(`${base.origin}/`, {
      proxy: `socks5://127.0.0.1:${proxy.port}`,
      proxyAuth: new BasicAuth("su", "sp"),
    });
    expect(await viaOption.text()).toBe("via socks");
    expect(proxy.requests.map((r) => r.user)).toEqual(["su", "su"]);
  });

  it("wrong credentials are ClientProxyConnectionError", async () => {
    const base = await target();
    const proxy = await socks({ user: "su", password: "sp" });
    const err = await rejection(
      session().get(`${base.origin}/`, { proxy: `socks5://su:bad@127.0.0.1:${proxy.port}` }),
    );
    expect(err).toBeInstanceOf(ClientProxyConnectionError);
    expect(err).toMatchObject({ host: "127.0.0.1", port: proxy.port });
  });

  it("wsConnect refuses a SOCKS proxy rather than going past it", async () => {
    const proxy = await socks();
    const err = await rejection(
      session().wsConnect("ws://127.0.0.1:9/", { proxy: `socks5://127.0.0.1:${proxy.port}` }),
    );
    expect(err.message).toContain("SOCKS");
    expect(proxy.requests).toEqual([]);
  });
});
