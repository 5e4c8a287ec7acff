import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (path: string): string => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    // The examples import "aiohttp-ts", which tsx resolves to src/ through tsconfig.json's
    // paths; tests that import an example's modules (examples/chat) get src/ the same way, so
    // that the example and the test share one copy of each class.
    alias: [
      { find: /^aiohttp-ts$/, replacement: src("index.ts") },
      { find: /^aiohttp-ts\/web$/, replacement: src("web/index.ts") },
      { find: /^aiohttp-ts\/test-utils$/, replacement: src("test-utils/index.ts") },
    ],
  },
  test: {
    // examples/testing/vitest.test.ts is the vitest recipe of docs/testing.md, run as it stands.
    include: ["test/**/*.test.ts", "examples/testing/vitest.test.ts"],
    globalSetup: ["test/peers-setup.ts"],
    typecheck: { enabled: true, include: ["test/**/*.test-d.ts"], tsconfig: "./tsconfig.json" },
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: "forks",
  },
});
