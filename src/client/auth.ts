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

  /**
   * The `Authorization` header value.
   * @throws {TypeError} with the default latin1 encoding, for characters latin1 cannot hold
   * (Node would silently keep only their low byte); use `encoding: "utf-8"` for those.
   */
  encode(): string {
    const text = `${this.login}:${this.password}`;
    if (this.encoding === "latin1" && /[\u0100-\uffff]/.test(text)) {
      throw new TypeError(
        'BasicAuth credentials contain characters outside latin1; pass encoding "utf-8"',
      );
    }
    const bytes = Buffer.from(text, this.encoding === "utf-8" ? "utf8" : "latin1");
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

  /** The credentials in a URL's userinfo (`http://user:pass@host/`), percent-decoded, if any. */
  static fromUrl(url: URL, encoding: "latin1" | "utf-8" = "latin1"): BasicAuth | undefined {
    if (url.username === "" && url.password === "") return undefined;
    return new BasicAuth(percentDecode(url.username), percentDecode(url.password), encoding);
  }

  toString(): string {
    return `BasicAuth(login=${JSON.stringify(this.login)}, password=***)`;
  }
}

/** Percent-decodes userinfo; a malformed escape is kept as written rather than failing. */
function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
