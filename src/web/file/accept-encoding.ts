// Accept-Encoding (RFC 9110 12.5.3): which content codings a client takes.

/** Whether a client accepts a content coding, from its Accept-Encoding header. */
export type AcceptsCoding = (coding: string) => boolean;

const NONE: AcceptsCoding = () => false;

/**
 * The codings an Accept-Encoding value accepts: those listed with a non-zero weight, and, when
 * `*` has one, every coding not listed with weight 0. Without the header no coding is assumed
 * (RFC 9110 12.5.3 allows any, but a client that says nothing is safest sent identity).
 */
export function acceptedCodings(header: string | undefined): AcceptsCoding {
  if (header === undefined || header.trim() === "") return NONE;
  const weights = new Map<string, number>();
  for (const item of header.split(",")) {
    const [name = "", ...params] = item.split(";");
    let coding = name.trim().toLowerCase();
    if (coding === "") continue;
    // RFC 9110 8.4.1.3: x-gzip is gzip.
    if (coding === "x-gzip") coding = "gzip";
    let weight = 1;
    for (const param of params) {
      const [key = "", value = ""] = param.split("=");
      if (key.trim().toLowerCase() !== "q") continue;
      const q = Number(value.trim());
      // An unreadable weight is taken as a refusal, the cautious reading.
      weight = Number.isFinite(q) && q >= 0 && q <= 1 ? q : 0;
    }
    weights.set(coding, weight);
  }
  const any = weights.get("*");
  return (coding) => {
    const weight = weights.get(coding) ?? any;
    return weight !== undefined && weight > 0;
  };
}
