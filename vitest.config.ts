import { defineConfig } from "vitest/config";

export default defineConfig({
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
