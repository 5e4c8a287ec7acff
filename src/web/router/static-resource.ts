// Static files under a URL prefix (aiohttp's StaticResource, `router.addStatic`): GET and HEAD
// of `prefix/<filename>` serve the file below the directory through FileResponse, a directory
// answers 403 or (with `showIndex`) an HTML listing, and nothing outside the directory is ever
// reachable (see static-path.ts for the rules).

import { realpathSync, statSync } from "node:fs";
import { stat } from "node:fs/promises";
import { resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import { HTTPForbidden, HTTPNotFound } from "../exceptions.js";
import { FileResponse } from "../file-response.js";
import type { Request } from "../request.js";
import { Response } from "../response.js";
import { kOnPathChange, kResolveMethod, kSiblingSymlinks } from "../symbols.js";
import { directoryIndex } from "./directory-index.js";
import { FileVersions } from "./file-version.js";
import { Resource, type ResourceResolution, URLBuilder, type UrlForOptions } from "./resource.js";
import type { ExpectHandler } from "./route.js";
import { joinUnder, realPathUnder, safeRelativeName } from "./static-path.js";
import { decodeValue, encodePath } from "./url-path.js";

/** Options of `router.addStatic` and `web.static`. */
export interface StaticOptions {
  /** A name for `router.named(name).urlFor({ filename })`. @default undefined (unnamed) */
  name?: string;
  /**
   * Answer a request for a directory with an HTML listing of its entries (hidden ones
   * included, as aiohttp) instead of 403. An `index.html` is not served in its place.
   * @default false
   */
  showIndex?: boolean;
  /**
   * Follow symlinks wherever they lead, also outside the directory. Without it a symlink is
   * followed only when its target is inside the directory too; one that leaves it is 404.
   * The URL itself can never leave the directory either way.
   * @default false
   */
  followSymlinks?: boolean;
  /**
   * Make `urlFor({ filename })` add `?v=<hash of the content>` (recomputed when the file's
   * mtime or size changes), so that a changed file gets a new URL. No version is added for a
   * file that does not exist.
   * @default false
   */
  appendVersion?: boolean;
  /** Bytes per read when sending a file (FileResponse's `chunkSize`). @default 262144 (256 KiB) */
  chunkSize?: number;
  /** Handler for `Expect` headers on the static routes. @default defaultExpectHandler */
  expectHandler?: ExpectHandler;
}

/** Options of a static resource's `urlFor`. */
export interface StaticUrlForOptions extends UrlForOptions {
  /** Overrides the resource's `appendVersion` for this URL. @default the resource's setting */
  appendVersion?: boolean;
}

/**
 * `prefix/...` served from a directory. Made by `router.addStatic(prefix, directory)`; it
 * answers GET and HEAD (405 with `Allow` for other methods, unless routes are added to it).
 */
export class StaticResource extends Resource {
  #prefix: string;
  /** The directory's real path (symlinks resolved when the route is added). */
  readonly directory: string;
  readonly showIndex: boolean;
  readonly followSymlinks: boolean;
  readonly appendVersion: boolean;
  readonly chunkSize: number | undefined;
  #versions = new FileVersions();

  constructor(prefix: string, directory: string | URL, options: StaticOptions = {}) {
    super(options.name ?? null);
    this.#prefix = normalizeStaticPrefix(prefix);
    this.directory = realDirectory(directory);
    this.showIndex = options.showIndex ?? false;
    this.followSymlinks = options.followSymlinks ?? false;
    this.appendVersion = options.appendVersion ?? false;
    const { chunkSize } = options;
    // Checked here so that a bad value fails when the route is added, not on every request.
    if (chunkSize !== undefined && !(Number.isSafeInteger(chunkSize) && chunkSize > 0)) {
      throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
    }
    this.chunkSize = chunkSize;
    const handler = (request: Request): FileResponse | Promise<Response | FileResponse> =>
      this.#handle(request);
    const expect = options.expectHandler;
    const routeOptions = expect === undefined ? {} : { expectHandler: expect };
    this.addRoute("GET", handler, routeOptions);
    this.addRoute("HEAD", handler, routeOptions);
  }

  /** The URL prefix, without a trailing slash (`""` for a route at `/`). */
  get prefix(): string {
    return this.#prefix;
  }

  get canonical(): string {
    return this.#prefix;
  }

  get firstSegment(): string | null {
    if (this.#prefix === "") return null;
    const end = this.#prefix.indexOf("/", 1);
    return end === -1 ? this.#prefix.slice(1) : this.#prefix.slice(1, end);
  }

  /** Never merges with a route added on the same path. */
  override rawMatch(): boolean {
    return false;
  }

  resolve(_request: Request, path: string, method: string): ResourceResolution {
    const prefix = this.#prefix;
    // `path` is decoded and dot segments are resolved, so `/static/../x` arrives as `/x`.
    if (!path.startsWith(prefix)) return null;
    if (path.length !== prefix.length && path.charCodeAt(prefix.length) !== 0x2f) return null;
    // `%2F` and `%25` stay encoded in `path`; the file name is fully decoded.
    const filename = decodeValue(path.slice(prefix.length + 1));
    return this[kResolveMethod](method, { filename });
  }

  /**
   * The URL of a file below the directory: `urlFor({ filename: "css/app.css" })`, with
   * `?v=<hash>` when `appendVersion` is on and the file exists.
   */
  urlFor(
    params: Readonly<Record<string, string | number>> = {},
    options: StaticUrlForOptions = {},
  ): URLBuilder {
    const filename = String(params.filename ?? "").replace(/^\/+/, "");
    const path = `${encodePath(this.#prefix)}/${encodePath(filename)}`;
    const query = new URLBuilder(path).withQuery(options.query ?? "").query;
    if (options.appendVersion ?? this.appendVersion) {
      const version = this.#version(filename);
      if (version !== null) query.append("v", version);
    }
    return new URLBuilder(path, query);
  }

  addPrefix(prefix: string): void {
    this.#prefix = prefix + this.#prefix;
    this[kOnPathChange]?.();
  }

  override toString(): string {
    const name = this.name === null ? "" : ` '${this.name}'`;
    return `<StaticResource${name} ${this.#prefix} -> ${this.directory}>`;
  }

  /** The content hash of a file under the directory, by the same rules as serving it. */
  #version(filename: string): string | null {
    const name = safeRelativeName(filename);
    if (name === null) return null;
    const unresolved = joinUnder(this.directory, name);
    if (this.followSymlinks) return this.#versions.version(unresolved);
    const real = realPathUnder(unresolved, this.directory);
    return real === null ? null : this.#versions.version(real);
  }

  #handle(request: Request): FileResponse | Promise<Response | FileResponse> {
    const name = safeRelativeName(request.matchInfo.filename ?? "");
    if (name === null) throw new HTTPNotFound();
    const unresolved = joinUnder(this.directory, name);
    const path = this.followSymlinks ? unresolved : realPathUnder(unresolved, this.directory);
    if (path === null) throw new HTTPNotFound();
    return this.showIndex ? this.#listingOrFile(path) : this.#file(path);
  }

  async #listingOrFile(path: string): Promise<Response | FileResponse> {
    if (!(await isDirectory(path))) return this.#file(path);
    let html: string;
    try {
      html = await directoryIndex(path, this.directory, this.#prefix);
    } catch (err) {
      throw isPermissionError(err) ? new HTTPForbidden() : new HTTPNotFound();
    }
    return new Response({ text: html, contentType: "text/html" });
  }

  /**
   * FileResponse answers the rest as aiohttp's does: 404 for a missing file, 403 for a
   * directory, a socket, a pipe or a device, or a file that cannot be read. It checks the kind
   * on the descriptor it opened, so no stat is spent here on the common path.
   */
  #file(path: string): FileResponse {
    const response = new FileResponse(
      path,
      this.chunkSize === undefined ? {} : { chunkSize: this.chunkSize },
    );
    // A precompressed sibling (`.gz`...) that is a symlink obeys the same rule as the file.
    return response[kSiblingSymlinks](this.followSymlinks ? "always" : { root: this.directory });
  }
}

/** Whether `path` is a directory; `false` when it cannot be looked at (FileResponse says why). */
async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function isPermissionError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === "EACCES" || code === "EPERM";
}

/** aiohttp's rule: a prefix starts with "/", and one trailing "/" is dropped. */
function normalizeStaticPrefix(prefix: string): string {
  if (!prefix.startsWith("/")) {
    throw new TypeError(`Static prefix should start with "/": ${JSON.stringify(prefix)}`);
  }
  if (prefix.includes("{") || prefix.includes("}")) {
    throw new TypeError(`Static prefix cannot have variables: ${JSON.stringify(prefix)}`);
  }
  return prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
}

/** The real path of a directory that must exist when the route is added. */
function realDirectory(directory: string | URL): string {
  const given = typeof directory === "string" ? directory : fileURLToPath(directory);
  let real: string;
  try {
    real = realpathSync(resolvePath(given));
  } catch (err) {
    throw new TypeError(`Static directory ${JSON.stringify(given)} does not exist`, {
      cause: err,
    });
  }
  if (!statSync(real).isDirectory()) {
    throw new TypeError(`Static directory ${JSON.stringify(given)} is not a directory`);
  }
  return real;
}
