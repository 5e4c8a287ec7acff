// Small facts about URLs the client needs in several places.

/** The host without the brackets of an IPv6 literal (`[::1]` -> `::1`). */
export function hostOf(url: URL): string {
  return url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
}

/** The port, or the scheme's default (443 for https/wss, else 80). */
export function portOf(url: URL): number {
  if (url.port !== "") return Number(url.port);
  return url.protocol === "https:" || url.protocol === "wss:" ? 443 : 80;
}
