// Sub-applications: an admin application mounted under /admin/ with its own middleware and
// named routes, sharing the root application's typed state.
//
//   npx tsx examples/subapp/server.ts
//   curl http://127.0.0.1:8080/
//   curl -H "X-Admin-Token: letmein" http://127.0.0.1:8080/admin/users/7

import { web } from "aiohttp-ts";

const siteNameKey = new web.AppKey<string>("siteName");

// The admin application. Its routes must be registered before it is mounted.
const admin = new web.Application({
  middlewares: [
    // Runs only for routes of the admin application.
    async (request, handler) => {
      if (request.headers.get("X-Admin-Token") !== "letmein") throw new web.HTTPForbidden();
      return handler(request);
    },
  ],
});
admin.router.addGet(
  "/users/{id:\\d+}",
  (request) =>
    web.jsonResponse({
      id: Number(request.matchInfo.id),
      // The sub-application's state falls back to the root application's.
      site: request.app.get(siteNameKey),
      self: request.app.router.named("admin-user").urlFor({ id: request.matchInfo.id }).toString(),
    }),
  { name: "admin-user" },
);

const app = new web.Application();
app.set(siteNameKey, "example");
app.router.addGet("/", () =>
  web.jsonResponse({
    // urlFor knows the prefix the resource was mounted under.
    user7: admin.router.named("admin-user").urlFor({ id: 7 }).toString(),
  }),
);
app.addSubapp("/admin/", admin);

web.runApp(app, { port: Number(process.env.PORT ?? 8080) });
