// The memory probe of the idle-connection bench's servers: over the IPC channel the bench
// opened (child_process.fork), says "ready" once listening, then answers each "mem" with
// process.memoryUsage() taken after full collections (node --expose-gc).

export function answerMemoryRequests() {
  process.on("message", (message) => {
    if (message !== "mem") return;
    // Twice: the first may leave what finalizers only free on the next one.
    globalThis.gc();
    globalThis.gc();
    process.send(process.memoryUsage());
  });
  process.send("ready");
}
