// Type tests: `request.matchInfo` is typed from the route template, for addGet and friends,
// RouteTableDef, web.get definitions and views. Run by vitest (typecheck) and by `tsc`.
import { describe, expectTypeOf, it } from "vitest";
import { web } from "../../src/index.js";

const app = new web.Application();
const done = () => new web.Response();

describe("path parameter types", () => {
  it("addGet gives each template variable as a string", () => {
    app.router.addGet("/users/{id}/posts/{post:\\d+}", (req) => {
      expectTypeOf(req.matchInfo.id).toEqualTypeOf<string>();
      expectTypeOf(req.matchInfo.post).toEqualTypeOf<string>();
      // @ts-expect-error: the template has no {unknown} variable
      req.matchInfo.unknown;
      return done();
    });
  });

  it("a tail variable and several variables in one segment are typed", () => {
    app.router.addGet("/files/{name}.{ext}/{rest:.*}", (req) => {
      expectTypeOf(req.matchInfo).toEqualTypeOf<{
        readonly name: string;
        readonly ext: string;
        readonly rest: string;
      }>();
      return done();
    });
  });

  it("a regex with a brace quantifier keeps the variable's name", () => {
    expectTypeOf<web.PathParamNames<"/codes/{code:\\d{3}}">>().toEqualTypeOf<"code">();
  });

  it("a path without variables has no keys", () => {
    app.router.addGet("/about", (req) => {
      expectTypeOf<keyof typeof req.matchInfo>().toEqualTypeOf<never>();
      // @ts-expect-error: a plain path has no variables
      req.matchInfo.id;
      return done();
    });
  });

  it("matchInfo values are read-only", () => {
    app.router.addGet("/users/{id}", (req) => {
      // @ts-expect-error: path parameters cannot be reassigned
      req.matchInfo.id = "other";
      return done();
    });
  });

  it("addPost, addPut, addPatch, addDelete, addAny and addRoute type matchInfo the same way", () => {
    app.router.addPost("/a/{x}", (req) => {
      expectTypeOf(req.matchInfo.x).toEqualTypeOf<string>();
      return done();
    });
    app.router.addPut("/a/{x}", (req) => {
      expectTypeOf(req.matchInfo.x).toEqualTypeOf<string>();
      return done();
    });
    app.router.addPatch("/a/{x}", (req) => {
      expectTypeOf(req.matchInfo.x).toEqualTypeOf<string>();
      return done();
    });
    app.router.addDelete("/a/{x}", (req) => {
      expectTypeOf(req.matchInfo.x).toEqualTypeOf<string>();
      return done();
    });
    app.router.addAny("/b/{y}", (req) => {
      expectTypeOf(req.matchInfo.y).toEqualTypeOf<string>();
      return done();
    });
    app.router.addRoute("PROPFIND", "/c/{z}", (req) => {
      expectTypeOf(req.matchInfo.z).toEqualTypeOf<string>();
      // @ts-expect-error: only {z} exists
      req.matchInfo.x;
      return done();
    });
  });

  it("RouteTableDef.get infers the same types", () => {
    const routes = new web.RouteTableDef();
    routes.get("/users/{id}/posts/{post:\\d+}", (req) => {
      expectTypeOf(req.matchInfo.id).toEqualTypeOf<string>();
      expectTypeOf(req.matchInfo.post).toEqualTypeOf<string>();
      // @ts-expect-error: the template has no {unknown} variable
      req.matchInfo.unknown;
      return done();
    });
  });

  it("web.get definitions infer the same types", () => {
    web.get("/users/{id}", (req) => {
      expectTypeOf(req.matchInfo.id).toEqualTypeOf<string>();
      // @ts-expect-error: only {id} exists
      req.matchInfo.name;
      return done();
    });
  });

  it("a template held in a plain string variable gives a string record", () => {
    const path: string = "/users/{id}";
    app.router.addGet(path, (req) => {
      expectTypeOf(req.matchInfo).toEqualTypeOf<Readonly<Record<string, string>>>();
      return done();
    });
  });

  it("a view typed with its parameters is accepted for a matching template", () => {
    class UserView extends web.View<{ readonly id: string }> {
      async get() {
        expectTypeOf(this.request.matchInfo.id).toEqualTypeOf<string>();
        return done();
      }
    }
    app.router.addView("/users/{id}", UserView);
  });

  it("an untyped view fits any route, as an untyped handler does", () => {
    class ItemView extends web.View {
      async get() {
        expectTypeOf(this.request.matchInfo).toEqualTypeOf<Readonly<Record<string, string>>>();
        return done();
      }
    }
    const untypedHandler = (_req: web.Request) => done();
    app.router.addGet("/items/{id}", untypedHandler);
    app.router.addView("/items/{id}", ItemView);
    app.router.addView("/items", ItemView);
    app.router.addRoute("*", "/items/{id}/{part:.*}", ItemView);
    new web.RouteTableDef().view("/items/{id}", ItemView);
    app.router.addRoutes([web.view("/items/{id}", ItemView)]);
  });

  it("a typed view is checked against the template on every way of registering it", () => {
    class UserView extends web.View<{ readonly id: string }> {
      async get() {
        return done();
      }
    }
    const routes = new web.RouteTableDef();
    app.router.addView("/users/{id}/{tab}", UserView);
    routes.view("/users/{id}", UserView);
    app.router.addRoutes([web.view("/users/{id}", UserView), ...routes]);
    // @ts-expect-error: the template has no {id}
    app.router.addView("/users", UserView);
    // @ts-expect-error: {name} is not {id}
    app.router.addView("/users/{name}", UserView);
    // @ts-expect-error: the template has no {id}
    app.router.addRoute("*", "/users", UserView);
    // @ts-expect-error: the template has no {id}
    routes.view("/users", UserView);
    // @ts-expect-error: the template has no {id}
    web.view("/users", UserView);
  });

  it("PathParams maps a template to its parameter object", () => {
    expectTypeOf<web.PathParams<"/users/{id}/posts/{post:\\d+}">>().toEqualTypeOf<{
      readonly id: string;
      readonly post: string;
    }>();
  });
});
