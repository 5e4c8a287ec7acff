// The help text of every command: the first line is the usage line that a bad argument repeats.

const TOP = `Usage: aiohttp-ts <command> [options]

Commands:
  serve <module>:<factory>    serve the web.Application that the factory returns
  get|post|put|patch|delete|head <url>
                              send one request and print the response (httpie style)

Options:
  -h, --help                  show this help (also: aiohttp-ts <command> --help)
  -v, --version               print the version

Exit codes: 0 success, 1 connection or other error, 2 bad arguments,
3/4/5 the response status was 3xx/4xx/5xx. See docs/cli.md.`;

const SERVE = `Usage: aiohttp-ts serve [options] <module>:<factory> [-- factory arguments]

Imports <module> (a .js/.mjs file, or .ts when tsx is installed), calls its export <factory>
with the arguments after -- (an array of strings), and serves the web.Application that it
returns (or resolves to) with web.runApp until SIGINT or SIGTERM. Without :<factory>, the
default export is the factory.

Options:
  -H, --host <host>           host to bind (default 0.0.0.0; repeatable)
  -P, --port <port>           TCP port (default 8080; 0 picks a free one)
  -U, --path <path>           serve on this unix socket (TCP too only with --host/--port)
  -w, --workers <n|auto>      worker processes sharing the port (node:cluster)
      --access-log-format <f> access log line format (aiohttp's %a %t %r %s %b %Tf ...)
      --no-access-log         no access log
      --reload                restart the server when a file under the module's directory
                              changes (node_modules, dist and dot-directories ignored)
  -h, --help                  show this help

Example:
  aiohttp-ts serve ./app.js:createApp --port 8000 -- --db ./data.sqlite`;

const REQUEST = `Usage: aiohttp-ts <get|post|put|patch|delete|head> <url> [options]

Sends one request with ClientSession and prints the status line, the headers and the body
(JSON pretty-printed). Colours only on a terminal (NO_COLOR and FORCE_COLOR are honoured).

Options:
  -H, --header "Name: value"  a request header (repeatable)
  -d, --data <data>           the body as given; @file reads a file, @- reads stdin
  -j, --json <k=v>            a field of a JSON body (repeatable): k=v is the string "v",
                              k:=v is the JSON value v (k:=42, k:=true, k:='[1,2]')
  -o, --output <file>         write the body to <file> (progress bar on a terminal)
  -b, --body                  print only the body
      --timeout <seconds>     give up after this long in total (default 300)
      --insecure              do not verify the server's TLS certificate
      --no-follow             do not follow redirects
      --ws                    open a WebSocket session instead (see below)
  -h, --help                  show this help

With --ws (the URL may be http(s):// or ws(s)://), each line read from stdin is sent as a
text message and every message received is printed; end of input (Ctrl-D) closes with 1000.

Exit codes: 0 for 1xx/2xx, 3 for 3xx, 4 for 4xx, 5 for 5xx, 1 when the request failed,
2 for bad arguments.

Examples:
  aiohttp-ts get http://localhost:8080/users/7 -H "Accept: application/json"
  aiohttp-ts post http://localhost:8080/users --json name=Ada --json admin:=true
  aiohttp-ts get https://example.com/big.iso -o big.iso
  aiohttp-ts get ws://localhost:8080/echo --ws`;

/** The request commands (HTTP methods in lower case). */
export const REQUEST_COMMANDS = ["get", "post", "put", "patch", "delete", "head"] as const;

/** One of `REQUEST_COMMANDS`. */
export type RequestCommand = (typeof REQUEST_COMMANDS)[number];

/** The full help of `command` (`undefined`: the top level). */
export function helpText(command?: string): string {
  if (command === "serve") return SERVE;
  if (command !== undefined && (REQUEST_COMMANDS as readonly string[]).includes(command)) {
    return REQUEST.replace("<get|post|put|patch|delete|head>", command);
  }
  return TOP;
}

/** The usage line of `command`, repeated under an error about its arguments. */
export function usageLine(command?: string): string {
  return `${helpText(command).split("\n")[0]}\nTry 'aiohttp-ts ${command === undefined ? "" : `${command} `}--help' for more.`;
}
