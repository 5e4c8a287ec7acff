// Type tests: DigestAuthMiddleware's options are checked at compile time, and an instance is a
// client middleware wherever one is accepted. Run by vitest (typecheck) and by `tsc`.
import { describe, expectTypeOf, it } from "vitest";
import {
  type ClientMiddleware,
  ClientSession,
  type DigestAuthError,
  DigestAuthMiddleware,
  type DigestAuthOptions,
} from "../../src/index.js";

describe("DigestAuthMiddleware", () => {
  it("takes login and password, and an optional boolean preemptive", () => {
    new DigestAuthMiddleware({ login: "user", password: "pass" });
    new DigestAuthMiddleware({ login: "user", password: "pass", preemptive: false });
    // @ts-expect-error: the password is required
    new DigestAuthMiddleware({ login: "user" });
    // @ts-expect-error: preemptive is a boolean
    new DigestAuthMiddleware({ login: "user", password: "pass", preemptive: "yes" });
    // @ts-expect-error: aiohttp's positional arguments are an options object here
    new DigestAuthMiddleware("user", "pass");
    // @ts-expect-error: unknown option
    new DigestAuthMiddleware({ login: "user", password: "pass", realm: "r" });
    expectTypeOf<DigestAuthOptions["preemptive"]>().toEqualTypeOf<boolean | undefined>();
  });

  it("is a client middleware, for a session or a request", () => {
    const digest = new DigestAuthMiddleware({ login: "user", password: "pass" });
    expectTypeOf(digest).toExtend<ClientMiddleware>();
    const session = new ClientSession({ middlewares: [digest] });
    void session.get("http://127.0.0.1/", { middlewares: [digest] });
  });

  it("its error has a string code", () => {
    expectTypeOf<DigestAuthError["code"]>().toEqualTypeOf<string>();
    expectTypeOf<DigestAuthError>().toExtend<Error>();
  });
});
