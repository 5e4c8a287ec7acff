// Route parameter types derived from aiohttp route templates: "/users/{id}/posts/{post:\\d+}"
// gives `{ readonly id: string; readonly post: string }`.

type ParamName<Inner extends string> = Inner extends `${infer Name}:${string}` ? Name : Inner;

/** The names of the `{name}` and `{name:regex}` parts of a route template. */
export type PathParamNames<Path extends string> =
  Path extends `${string}{${infer Inner}}${infer Rest}`
    ? ParamName<Inner> | PathParamNames<Rest>
    : never;

/**
 * The `matchInfo` type of a route: one `string` per template variable. A template that is not
 * a literal type (a `string` variable) gives a string record.
 */
export type PathParams<Path extends string> = string extends Path
  ? Readonly<Record<string, string>>
  : { readonly [K in PathParamNames<Path>]: string };
