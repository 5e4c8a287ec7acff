// Type tests: request.post() gives strings and FileFields, narrowed with typeof; the form
// options are typed. Run by vitest (typecheck) and by `tsc`.
import type { Readable } from "node:stream";
import { describe, expectTypeOf, it } from "vitest";
import { web } from "../../src/index.js";

declare const request: web.Request;

describe("forms", () => {
  it("post() values are strings or FileFields", async () => {
    const form = await request.post();
    const value = form.get("field");
    expectTypeOf(value).toEqualTypeOf<string | web.FileField | undefined>();
    if (value !== undefined && typeof value !== "string") {
      expectTypeOf(value.filename).toEqualTypeOf<string>();
      expectTypeOf(value.path).toEqualTypeOf<string | null>();
      expectTypeOf(value.read()).toEqualTypeOf<Promise<Buffer>>();
      expectTypeOf(value.stream()).toEqualTypeOf<Readable>();
    }
    expectTypeOf(form.getAll("field")).toEqualTypeOf<web.FormValue[]>();
  });

  it("formLimits and maxDecompressSize are application options", () => {
    new web.Application({ formLimits: { maxParts: 10 }, maxDecompressSize: 0 });
    // @ts-expect-error: not a form limit
    new web.Application({ formLimits: { maxFiles: 10 } });
  });
});
