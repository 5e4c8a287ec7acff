// The result of routing a request: the route and handler to run, the path variables, and the
// chain of applications (root first) whose middlewares apply.

import type { AnyApplication } from "../application.js";
import type { HTTPException } from "../exceptions.js";
import type { Handler, Route } from "./route.js";

const NO_APPS: readonly AnyApplication[] = [];

/** A URL dispatcher's answer for one request. */
export class MatchInfo {
  /** Path variables, percent-decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** The matched route, or `null` when routing failed (404/405). */
  readonly route: Route | null;
  /** The exception to answer with when routing failed. */
  readonly httpException: HTTPException | null;
  #apps: readonly AnyApplication[] = NO_APPS;
  #currentApp: AnyApplication | null = null;

  constructor(
    params: Readonly<Record<string, string>>,
    route: Route | null,
    httpException: HTTPException | null = null,
  ) {
    this.params = params;
    this.route = route;
    this.httpException = httpException;
  }

  /** The handler to run: the route's, or one that throws the routing exception. */
  get handler(): Handler {
    if (this.route !== null) return this.route.handler;
    // A MatchInfo without a route is only built by a failed lookup, which sets the exception.
    const exc = this.httpException as HTTPException;
    return () => {
      throw exc;
    };
  }

  /** Applications from the root to the one owning the route. */
  get apps(): readonly AnyApplication[] {
    return this.#apps;
  }

  /** The application whose middleware or handler is running now. */
  get currentApp(): AnyApplication {
    const app = this.#currentApp ?? this.#apps[this.#apps.length - 1];
    if (app === undefined) throw new Error("MatchInfo has no application yet");
    return app;
  }

  set currentApp(app: AnyApplication) {
    this.#currentApp = app;
  }

  /** @internal a parent application claims this match (outermost last). */
  addApp(app: AnyApplication): void {
    this.#apps = this.#apps.length === 0 ? [app] : [app, ...this.#apps];
  }

  toString(): string {
    return this.route === null
      ? `<MatchInfoError ${this.httpException?.status}>`
      : `<MatchInfo ${JSON.stringify(this.params)}: ${this.route}>`;
  }
}
