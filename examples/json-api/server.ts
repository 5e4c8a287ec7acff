// A small JSON API: routes collected in a RouteTableDef, a class-based view, typed application
// state created by a cleanup context, and HTTP exceptions for errors.
//
//   npx tsx examples/json-api/server.ts
//   curl -X POST -H "Content-Type: application/json" -d '{"text":"buy milk"}' http://127.0.0.1:8080/notes
//   curl http://127.0.0.1:8080/notes/1

import { web } from "aiohttp-ts";

interface Note {
  readonly id: number;
  readonly text: string;
}

class NoteStore {
  #notes = new Map<number, Note>();
  #nextId = 1;
  add(text: string): Note {
    const note = { id: this.#nextId++, text };
    this.#notes.set(note.id, note);
    return note;
  }
  get(id: number): Note | undefined {
    return this.#notes.get(id);
  }
  delete(id: number): boolean {
    return this.#notes.delete(id);
  }
  all(): Note[] {
    return [...this.#notes.values()];
  }
}

const storeKey = new web.AppKey<NoteStore>("store");

function parseNote(body: unknown): string {
  if (
    typeof body === "object" &&
    body !== null &&
    "text" in body &&
    typeof body.text === "string"
  ) {
    return body.text;
  }
  throw new web.HTTPUnprocessableEntity({ text: 'Expected a JSON object like {"text": "..."}' });
}

const routes = new web.RouteTableDef();

routes.get("/notes", (request) => web.jsonResponse(request.app.require(storeKey).all()));

routes.post("/notes", async (request) => {
  // A malformed body makes request.json() throw a 400 HTTPBadRequest.
  const note = request.app.require(storeKey).add(parseNote(await request.json()));
  return web.jsonResponse(note, {
    status: 201,
    headers: { Location: request.app.router.named("note").urlFor({ id: note.id }).toString() },
  });
});

/** One method per HTTP verb; the others answer 405 with an Allow header. */
class NoteView extends web.View<{ readonly id: string }> {
  #store(): NoteStore {
    return this.request.app.require(storeKey);
  }

  async get(): Promise<web.Response> {
    const note = this.#store().get(Number(this.request.matchInfo.id));
    if (note === undefined) throw new web.HTTPNotFound({ text: "No such note" });
    return web.jsonResponse(note);
  }

  async delete(): Promise<web.Response> {
    if (!this.#store().delete(Number(this.request.matchInfo.id))) throw new web.HTTPNotFound();
    return new web.Response({ status: 204 });
  }
}
routes.view("/notes/{id:\\d+}", NoteView, { name: "note" });

const app = new web.Application();
app.router.addRoutes(routes);

// Set-up runs before the server accepts requests, tear-down after the last one finished.
app.cleanupCtx.push(async function* store(app) {
  app.set(storeKey, new NoteStore());
  yield;
  console.log(`Shutting down with ${app.require(storeKey).all().length} note(s)`);
});

web.runApp(app, { port: Number(process.env.PORT ?? 8080) });
