"""An HTTP Digest (RFC 7616) server that is not aiohttp-ts, for the client's interop tests.

Python's http.server with the verification written here with hashlib, independent of the
TypeScript code. It prints `READY <port>` once it listens on 127.0.0.1.

Paths: /digest/<qop>/<algorithms>/<anything>, where <qop> is "auth", "auth-int",
"auth,auth-int" or "none" (RFC 2069 form), and <algorithms> one name or several joined by "+"
(one challenge each, in that order). Query flags: one-header=1 (all challenges in one
WWW-Authenticate header, after a Basic one), stale=1 (the first nonce issued is stale when
answered), userhash=1, redirect=<url> (a 302 there once authenticated).
GET /_log gives every request seen as JSON: method, path, authorization, nc, status.
"""

import hashlib
import json
import re
import secrets
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USER = "Mufasa"
PASSWORD = "Circle Of Life"
# Commas, quotes and a backslash: the client must unescape and re-escape them.
REALM = 'digest@example.org, "test" \\ realm'
OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"

HASHES = {
    "MD5": lambda data: hashlib.md5(data).hexdigest(),
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
    "SHA-512-256": lambda data: hashlib.new("sha512_256", data).hexdigest(),
}

PARAM = re.compile(r'([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')

lock = threading.Lock()
# nonce -> {"nc": highest nonce count seen, "stale": answers with it get stale=true}
nonces = {}
log = []


def quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_authorization(value):
    scheme, _, rest = value.partition(" ")
    if scheme.lower() != "digest":
        return None
    params = {}
    for m in PARAM.finditer(rest):
        name = m.group(1).lower()
        raw = m.group(2)
        params[name] = re.sub(r"\\(.)", r"\1", raw) if raw is not None else m.group(3)
    return params


def new_nonce(stale):
    nonce = secrets.token_hex(16)
    with lock:
        nonces[nonce] = {"nc": 0, "stale": stale}
    return nonce


def hash_for(algorithm):
    base = algorithm.upper()
    if base.endswith("-SESS"):
        base = base[: -len("-SESS")]
    for name, fn in HASHES.items():
        if name.upper() == base:
            return fn
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status, body, headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        body = self.read_body()
        entry = {
            "method": self.command,
            "path": self.path,
            "authorization": self.headers.get("Authorization"),
            "nc": None,
            "status": None,
        }
        with lock:
            log.append(entry)
        if self.path == "/_log":
            with lock:
                snapshot = json.dumps(log)
            return self.reply(200, snapshot, [("Content-Type", "application/json")])
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        parts = url.path.split("/")
        if len(parts) < 4 or parts[1] != "digest":
            entry["status"] = 404
            return self.reply(404, "not found")
        qop_offered = [] if parts[2] == "none" else urllib.parse.unquote(parts[2]).split(",")
        algorithms = parts[3].split("+")
        status, extra = self.verify(entry, body, qop_offered, algorithms, query)
        entry["status"] = status
        if status == 401:
            return self.reply(401, "unauthorized", extra)
        if "redirect" in query:
            return self.reply(302, "", [("Location", query["redirect"])])
        return self.reply(200, json.dumps(extra), [("Content-Type", "application/json")])

    do_GET = do_POST = do_PUT = do_DELETE = handle_any

    def challenge(self, qop_offered, algorithms, query, stale=False, first_stale=False):
        nonce = new_nonce(first_stale)
        values = []
        for algorithm in algorithms:
            fields = [f"realm={quote(REALM)}"]
            if qop_offered:
                fields.append(f'qop="{",".join(qop_offered)}"')
            fields += [f"algorithm={algorithm}", f"nonce={quote(nonce)}", f"opaque={quote(OPAQUE)}"]
            if stale:
                fields.append("stale=true")
            if query.get("userhash") == "1":
                fields.append("userhash=true")
            values.append("Digest " + ", ".join(fields))
        if query.get("one-header") == "1":
            combined = ", ".join(['Basic realm="basic, with a comma"'] + values)
            return [("WWW-Authenticate", combined)]
        return [("WWW-Authenticate", v) for v in values]

    def verify(self, entry, body, qop_offered, algorithms, query):
        """(200, info) for right credentials, else (401, challenge headers)."""
        first_stale = query.get("stale") == "1"
        value = self.headers.get("Authorization")
        auth = parse_authorization(value) if value else None
        if not auth:
            return 401, self.challenge(qop_offered, algorithms, query, first_stale=first_stale)
        refuse = (401, self.challenge(qop_offered, algorithms, query))
        algorithm = auth.get("algorithm", "MD5")
        if algorithm.upper() not in [a.upper() for a in algorithms]:
            return refuse
        H = hash_for(algorithm)
        nonce = auth.get("nonce", "")
        with lock:
            state = nonces.get(nonce)
        if state is None or auth.get("realm") != REALM or auth.get("opaque") != OPAQUE:
            return refuse
        if auth.get("uri") != self.path:
            return refuse
        qop = auth.get("qop")
        if qop_offered:
            if qop not in qop_offered:
                return refuse
            nc_text = auth.get("nc", "")
            if not re.fullmatch(r"[0-9a-fA-F]{8}", nc_text) or "cnonce" not in auth:
                return refuse
            nc = int(nc_text, 16)
            entry["nc"] = nc_text
            with lock:
                if nc <= state["nc"]:
                    return refuse  # a replayed nonce count
                state["nc"] = nc
        elif qop is not None or "nc" in auth or "cnonce" in auth:
            return refuse
        if query.get("userhash") == "1":
            if auth.get("userhash") != "true":
                return refuse
            if auth.get("username") != H(f"{USER}:{REALM}".encode()):
                return refuse
        elif "username*" in auth:
            charset, _, encoded = auth["username*"].partition("''")
            if charset.upper() != "UTF-8" or urllib.parse.unquote(encoded) != USER:
                return refuse
        elif auth.get("username") != USER:
            return refuse
        ha1 = H(f"{USER}:{REALM}:{PASSWORD}".encode())
        if algorithm.upper().endswith("-SESS"):
            ha1 = H(f"{ha1}:{nonce}:{auth['cnonce']}".encode())
        a2 = f"{self.command}:{auth['uri']}"
        if qop == "auth-int":
            a2 += ":" + H(body)
        ha2 = H(a2.encode())
        if qop_offered:
            expected = H(f"{ha1}:{nonce}:{auth['nc']}:{auth['cnonce']}:{qop}:{ha2}".encode())
        else:
            expected = H(f"{ha1}:{nonce}:{ha2}".encode())
        if not secrets.compare_digest(expected, auth.get("response", "")):
            return refuse
        if state["stale"]:
            # Right credentials, old nonce (RFC 7616 3.3 stale): a new nonce, no new password.
            return 401, self.challenge(qop_offered, algorithms, query, stale=True)
        return 200, {
            "user": USER,
            "algorithm": algorithm,
            "qop": qop,
            "nc": auth.get("nc"),
            "body": body.decode("utf-8", "replace"),
        }


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"READY {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
