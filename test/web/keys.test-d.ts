// Type tests: each state store takes only its own kind of key, and a key's type is the type of
// the value stored under it. Run by vitest (typecheck) and by `tsc`.
import { describe, expectTypeOf, it } from "vitest";
import { web } from "../../src/index.js";

const app = new web.Application();
const response = new web.Response();
declare const request: web.Request;

const appKey = new web.AppKey<number>("count");
const requestKey = new web.RequestKey<number>("count");
const responseKey = new web.ResponseKey<number>("count");

describe("state keys", () => {
  it("the application store takes AppKeys only", () => {
    app.set(appKey, 1);
    expectTypeOf(app.get(appKey)).toEqualTypeOf<number | undefined>();
    expectTypeOf(app.require(appKey)).toEqualTypeOf<number>();
    // @ts-expect-error: a RequestKey is not an AppKey
    app.set(requestKey, 1);
    // @ts-expect-error: a ResponseKey is not an AppKey
    app.get(responseKey);
    // @ts-expect-error: a RequestKey is not an AppKey
    app.has(requestKey);
  });

  it("the request store takes RequestKeys, and reads AppKeys through its application", () => {
    request.set(requestKey, 1);
    expectTypeOf(request.get(requestKey)).toEqualTypeOf<number | undefined>();
    expectTypeOf(request.get(appKey)).toEqualTypeOf<number | undefined>();
    expectTypeOf(request.has(appKey)).toEqualTypeOf<boolean>();
    // @ts-expect-error: application state is set on the application, not on a request
    request.set(appKey, 1);
    // @ts-expect-error: a ResponseKey is not a request's key
    request.get(responseKey);
  });

  it("the response store takes ResponseKeys only", () => {
    response.set(responseKey, 1);
    expectTypeOf(response.get(responseKey)).toEqualTypeOf<number | undefined>();
    // @ts-expect-error: a RequestKey is not a ResponseKey
    response.set(requestKey, 1);
    // @ts-expect-error: an AppKey is not a ResponseKey
    response.get(appKey);
  });

  it("a key's value type is checked", () => {
    // @ts-expect-error: the key holds numbers
    app.set(appKey, "one");
    // @ts-expect-error: a key for strings is not a key for numbers
    const wrong: web.AppKey<number> = new web.AppKey<string>("name");
    expectTypeOf(wrong).toEqualTypeOf<web.AppKey<number>>();
  });

  it("a plain object with a name is not a key", () => {
    // @ts-expect-error: keys are made with `new web.AppKey(name)`
    app.set({ name: "count" }, 1);
  });

  it("the brand is no named member (it is keyed by a symbol users cannot import)", () => {
    expectTypeOf<Extract<keyof web.AppKey<number>, string>>().toEqualTypeOf<"name" | "toString">();
  });
});
