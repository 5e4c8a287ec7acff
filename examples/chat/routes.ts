// Every URL of the chat.

import { web } from "aiohttp-ts";
import { addApiRoutes } from "./api.js";
import { roomFeed } from "./feed.js";
import { roomSocket } from "./ws.js";

export const PUBLIC_DIR = new URL("./public/", import.meta.url);

export function addRoutes(app: web.Application): void {
  // aiohttp serves no index.html for a directory: the page is a route of its own.
  app.router.addGet("/", () => new web.FileResponse(new URL("index.html", PUBLIC_DIR)));
  app.router.addStatic("/static", PUBLIC_DIR);
  app.router.addGet("/rooms/{room}/ws", roomSocket);
  app.router.addGet("/rooms/{room}/events", roomFeed);
  addApiRoutes(app);
}
