// Path decoding and encoding for routing: what the router matches against and how URLs are
// built back from route templates.

const SAFE_ESCAPE = /%(?:2[fF]|25)/;

/**
 * Decodes percent-escapes except `%2F` and `%25`, so that an encoded slash does not split a
 * segment and decoding twice cannot change the result. Malformed escapes are kept as sent.
 */
export function decodePathSafe(raw: string): string {
  if (!raw.includes("%")) return raw;
  if (!SAFE_ESCAPE.test(raw)) return safeDecode(raw);
  return raw
    .split(/(%2[fF]|%25)/)
    .map((part, i) => (i % 2 === 1 ? part.toUpperCase() : safeDecode(part)))
    .join("");
}

/** Fully decodes a matched path value (`%2F` becomes `/`). */
export function decodeValue(value: string): string {
  return value.includes("%") ? safeDecode(value) : value;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // Decode what can be decoded, escape by escape; keep the malformed ones.
    return text.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

/** Resolves `.` and `..` segments (RFC 3986 5.2.4) so `/a/../b` routes as `/b`. */
export function normalizePath(path: string): string {
  if (!path.includes("/.")) return path;
  const out: string[] = [];
  const segments = path.split("/");
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i] as string;
    if (seg === "..") {
      if (out.length > 0) out.pop();
      if (i === segments.length - 1) out.push("");
    } else if (seg === ".") {
      if (i === segments.length - 1) out.push("");
    } else {
      out.push(seg);
    }
  }
  return `/${out.join("/")}`;
}

/** Percent-encodes a value for one path segment (keeps RFC 3986 sub-delims, `:` and `@`). */
export function encodeSegment(value: string): string {
  return encodeURIComponent(value).replace(/%(?:3A|40|21|24|26|27|28|29|2A|2B|2C|3B|3D)/gi, (e) =>
    decodeURIComponent(e),
  );
}

/** Percent-encodes a tail value that may contain `/` (a `{path:.*}` variable). */
export function encodePath(value: string): string {
  return value.split("/").map(encodeSegment).join("/");
}
