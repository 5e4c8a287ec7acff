// The chat's middlewares (an access log, error pages) and its security headers.

import { web } from "aiohttp-ts";
import { ChatError } from "./errors.js";
import { nickOf } from "./keys.js";

/** Where log lines go; tests pass one that drops them. */
export interface ChatLogger {
  info(line: string): void;
  error(line: string, err?: unknown): void;
}

/**
 * One line per request, with the nick and the time taken. A WebSocket's line comes when it
 * closes (its handler returns then), with the connection's lifetime.
 */
export function accessLog(log: ChatLogger): web.Middleware {
  return async (request, handler) => {
    const start = performance.now();
    let status = 500;
    try {
      const response = await handler(request);
      status = response.status;
      return response;
    } finally {
      const ms = (performance.now() - start).toFixed(1);
      const nick = nickOf(request) ?? "-";
      log.info(
        `${request.remote ?? "-"} ${nick} "${request.method} ${request.rawPathAndQuery}" ${status} ${ms}ms`,
      );
    }
  };
}

/** Whether the client wants a JSON error rather than a page: the API, or an Accept that says so. */
function wantsJson(request: web.Request): boolean {
  if (request.path.startsWith("/api/")) return true;
  const accept = request.headers.get("Accept") ?? "";
  return accept.includes("application/json") && !accept.includes("text/html");
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function errorResponse(
  request: web.Request,
  status: number,
  code: string,
  message: string,
  headers?: web.HTTPException["headers"],
): web.Response {
  const response = wantsJson(request)
    ? web.jsonResponse({ error: { status, code, message } }, { status })
    : new web.Response({
        status,
        contentType: "text/html",
        text: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${status}</title><link rel="stylesheet" href="/static/style.css"></head><body class="error-page"><h1>${status}</h1><p>${escapeHtml(message)}</p><p><a href="/">Back to the chat</a></p></body></html>`,
      });
  // Keep what the exception says about the resource (Allow on 405, WWW-Authenticate, ...).
  for (const [name, value] of headers?.entries() ?? []) {
    if (name.toLowerCase() !== "content-type") response.headers.add(name, value);
  }
  return response;
}

/**
 * Every failure becomes a JSON error (`{ error: { status, code, message } }`) for the API and
 * for clients that accept JSON, and a small HTML page for browsers. An unexpected error is
 * logged with its stack and answered with a 500 that tells nothing about it.
 */
export function errorPages(log: ChatLogger): web.Middleware {
  return async (request, handler) => {
    try {
      return await handler(request);
    } catch (err) {
      if (err instanceof ChatError) {
        return errorResponse(request, err.status, err.code, err.message);
      }
      if (err instanceof web.HTTPException) {
        if (err.status < 400) throw err; // redirects pass through untouched
        const code = err.reason.toLowerCase().replace(/[^a-z0-9]+/g, "_");
        return errorResponse(request, err.status, code, err.reason, err.headers);
      }
      log.error(`${request.method} ${request.rawPathAndQuery} failed:`, err);
      return errorResponse(request, 500, "internal_error", "Something went wrong on our side.");
    }
  };
}

/**
 * The page loads its script, style and sockets from this origin only, and nothing may frame
 * it; with no inline script allowed, injected markup could not run code even if the page
 * rendered some (it sets text only).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
};

/**
 * Adds the security headers to every response. It is an `onResponsePrepare` callback rather
 * than a middleware: a WebSocket's 101 and the SSE stream are sent from inside their
 * handlers, before a middleware gets the response back, and the signal still reaches them.
 */
export function securityHeaders(_request: web.Request, response: web.StreamResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.headers.set(name, value);
}
