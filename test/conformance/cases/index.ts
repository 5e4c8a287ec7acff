// Every conformance case, in Autobahn's order.
import type { Case } from "../case.js";
import { closeCases } from "./close.js";
import { deflateCases } from "./deflate.js";
import { fragmentationCases } from "./fragmentation.js";
import { framingCases } from "./framing.js";
import { hostileCases } from "./hostile.js";
import { limitCases } from "./limits.js";
import { utf8Cases } from "./utf8.js";

export const CASES: readonly Case[] = [
  ...framingCases,
  ...fragmentationCases,
  ...utf8Cases,
  ...closeCases,
  ...limitCases,
  ...deflateCases,
  ...hostileCases,
];
