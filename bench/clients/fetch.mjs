// Node's global fetch (its bundled undici and default dispatcher), as most code calls it.
import { run } from "./harness.mjs";

await run(({ url }) => ({
  async send() {
    const res = await fetch(url);
    if (res.status !== 200) {
      await res.arrayBuffer();
      throw new Error(`status ${res.status}`);
    }
    return res.json();
  },
}));
