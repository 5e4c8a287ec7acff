// HTTP Basic authentication (RFC 7617), aiohttp's BasicAuth.

/** Login and password sent as `Authorization: Basic ...`. */
export class BasicAuth {
  readonly login: string;
  readonly password: string;
  /** How login and password are turned into bytes; @default "latin1", as aiohttp */
  readonly encoding: "latin1" | "utf-8";

  constructor(login: string, password = "", encoding: "latin1" | "utf-8" = "latin1") {
    if (login.includes(":")) throw new TypeError('A ":" is not allowed in the login (RFC 7617 2)');
    this.login = login;
    this.password = password;
    this.encoding = encoding;
  }

  /** The `Authorization` header value. */
  encode(): string {
    const bytes = Buffer.from(
      `${this.login}:${this.password}`,
      this.encoding === "utf-8" ? "utf8" : "latin1",
    );
    return `Basic ${bytes.toString("base64")}`;
  }

  /** Parses an `Authorization: Basic ...` value. */
  static decode(header: string, encoding: "latin1" | "utf-8" = "latin1"): BasicAuth {
    const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (m === null) throw new TypeError("Not a Basic authorization header");
    const text = Buffer.from(m[1] as string, "base64").toString(
      encoding === "utf-8" ? "utf8" : "latin1",
    );
    const colon = text.indexOf(":");
    if (colon === -1) throw new TypeError("Invalid Basic credentials: no colon");
    return new BasicAuth(text.slice(0, colon), text.slice(colon + 1), encoding);
  }

  /** The credentials in a URL's userinfo (`http://user:pass@host/`), if any. */
  static fromUrl(url: URL): BasicAuth | undefined {
    if (url.username === "" && url.password === "") return undefined;
    return new BasicAuth(decodeURIComponent(url.username), decodeURIComponent(url.password));
  }

  toString(): string {
    return `BasicAuth(login=${JSON.stringify(this.login)}, password=***)`;
  }
}
