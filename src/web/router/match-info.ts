// The result of routing a request: the route and handler to run, the path variables, and the
// chain of applications (root first) whose middlewares apply.

import type { AnyApplication } from "../application.js";
import type { HTTPException } from "../exceptions.js";
import { kAddApp } from "../symbols.js";
import type { Route } from "./route.js";

const NO_APPS: readonly AnyApplication[] = [];
/**
 * The chain of a match in an application without a parent, one per application: a WebSocket
 * keeps its request's match for as long as its connection.
 */
const CHAINS_OF_ONE = new WeakMap<AnyApplication, readonly AnyApplication[]>();

function chainOfOne(app: AnyApplication): readonly AnyApplication[] {
  let chain = CHAINS_OF_ONE.get(app);
  if (chain === undefined) {
    chain = Object.freeze([app]);
    CHAINS_OF_ONE.set(app, chain);
  }
  return chain;
}

/** A URL dispatcher's answer for one request. */
export class MatchInfo {
  /** Path variables, percent-decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** The matched route, or `null` when routing failed (404/405). */
  readonly route: Route | null;
  /** The exception to answer with when routing failed. */
  readonly httpException: HTTPException | null;
  #apps: readonly AnyApplication[] = NO_APPS;

  constructor(
    params: Readonly<Record<string, string>>,
    route: Route | null,
    httpException: HTTPException | null = null,
  ) {
    this.params = params;
    this.route = route;
    this.httpException = httpException;
  }

  /** Applications from the root to the one owning the route. */
  get apps(): readonly AnyApplication[] {
    return this.#apps;
  }

  /**
   * The application that owns the route (the last of `apps`). While middlewares run,
   * `request.app` is the application of the running one.
   */
  get currentApp(): AnyApplication {
    const app = this.#apps[this.#apps.length - 1];
    if (app === undefined) throw new Error("MatchInfo has no application yet");
    return app;
  }

  /** @internal a parent application claims this match (outermost last). */
  [kAddApp](app: AnyApplication): void {
    this.#apps = this.#apps.length === 0 ? chainOfOne(app) : [app, ...this.#apps];
  }

  toString(): string {
    return this.route === null
      ? `<MatchInfoError ${this.httpException?.status}>`
      : `<MatchInfo ${JSON.stringify(this.params)}: ${this.route}>`;
  }
}
