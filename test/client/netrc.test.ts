// Credentials from a netrc file with trustEnv (aiohttp reads `$NETRC` or `~/.netrc` for a request
// without auth), and the parser of that format.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { netrcCredentials, parseNetrc } from "../../src/client/netrc.js";
import { BasicAuth, ClientSession, web } from "../../src/index.js";
import { useTestClients } from "../helpers.js";

describe("parseNetrc", () => {
  it("reads machine entries and the default one", () => {
    const netrc = parseNetrc(
      "machine a.test login alice password s3cret\n" +
        "machine B.test\n  login bob\n  password pw\n  account acct\n" +
        "default login anon password guest\n",
    );
    expect(netrc.machines.get("a.test")).toEqual({
      login: "alice",
      password: "s3cret",
      account: undefined,
    });
    expect(netrc.machines.get("b.test")).toEqual({ login: "bob", password: "pw", account: "acct" });
    expect(netrcCredentials(netrc, "a.test")).toEqual(new BasicAuth("alice", "s3cret"));
    expect(netrcCredentials(netrc, "other.test")).toEqual(new BasicAuth("anon", "guest"));
  });

  it("skips comments and macros, and reads quoted tokens", () => {
    const netrc = parseNetrc(
      "# a comment line\n" +
        "macdef init\ncd /pub\nmachine evil.test login x password y\n\n" +
        'machine q.test login "with space" password "a\\"b" # trailing comment\n',
    );
    expect(netrc.machines.has("evil.test")).toBe(false);
    expect(netrcCredentials(netrc, "q.test")).toEqual(new BasicAuth("with space", 'a"b'));
  });

  it("no entry and no default: no credentials; the account stands in for an empty login", () => {
    expect(netrcCredentials(parseNetrc("machine a.test login u password p"), "b.test")).toBe(
      undefined,
    );
    const netrc = parseNetrc("machine a.test account acc password p");
    expect(netrcCredentials(netrc, "a.test")).toEqual(new BasicAuth("acc", "p"));
  });
});

describe("trustEnv and netrc", () => {
  const serve = useTestClients();
  let dir: string;
  const saved = process.env.NETRC;
  const sessions: ClientSession[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-netrc-"));
    await writeFile(
      join(dir, "netrc"),
      "machine 127.0.0.1 login netuser password netpass\nmachine localhost login other password x\n",
    );
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    if (saved === undefined) delete process.env.NETRC;
    else process.env.NETRC = saved;
    for (const s of sessions.splice(0)) await s.close();
  });

  async function echoAuth(): Promise<string> {
    const app = new web.Application();
    app.router.addGet("/", (request) => {
      return new web.Response({ text: request.headers.get("Authorization") ?? "none" });
    });
    return (await serve(app)).server.baseUrl;
  }

  function session(trustEnv: boolean): ClientSession {
    const s = new ClientSession({ trustEnv });
    sessions.push(s);
    return s;
  }

  it("sends the host's netrc credentials when the session trusts the environment", async () => {
    const base = await echoAuth();
    process.env.NETRC = join(dir, "netrc");
    const resp = await session(true).get(`${base}/`);
    expect(await resp.text()).toBe(new BasicAuth("netuser", "netpass").encode());
  });

  it("sends none without trustEnv", async () => {
    const base = await echoAuth();
    process.env.NETRC = join(dir, "netrc");
    expect(await (await session(false).get(`${base}/`)).text()).toBe("none");
  });

  it("given auth and an Authorization header win over netrc", async () => {
    const base = await echoAuth();
    process.env.NETRC = join(dir, "netrc");
    const s = session(true);
    const withAuth = await s.get(`${base}/`, { auth: new BasicAuth("me", "mine") });
    expect(await withAuth.text()).toBe(new BasicAuth("me", "mine").encode());
    const withHeader = await s.get(`${base}/`, { headers: { Authorization: "Bearer t" } });
    expect(await withHeader.text()).toBe("Bearer t");
  });

  it("a WebSocket handshake takes the netrc credentials too", async () => {
    const app = new web.Application();
    let seen: string | undefined;
    app.router.addGet("/ws", async (request) => {
      seen = request.headers.get("Authorization");
      const ws = new web.WebSocketResponse();
      await ws.prepare(request);
      await ws.close();
      return ws;
    });
    const base = (await serve(app)).server.baseUrl;
    process.env.NETRC = join(dir, "netrc");
    const ws = await session(true).wsConnect(`${base}/ws`);
    await ws.close();
    expect(seen).toBe(new BasicAuth("netuser", "netpass").encode());
  });

  it("a missing netrc file means no credentials", async () => {
    const base = await echoAuth();
    process.env.NETRC = join(dir, "absent");
    expect(await (await session(true).get(`${base}/`)).text()).toBe("none");
  });
});
