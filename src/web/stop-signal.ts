// When runApp stops serving: SIGINT, SIGTERM or an AbortSignal, whichever comes first. Shared by
// the single-process server and the primary of a server with workers.

/**
 * Resolves on the first SIGINT/SIGTERM (with `handleSignals`) or abort of `signal`. The signal
 * handlers are removed then, so that a second Ctrl+C ends the process at once.
 */
export function untilStopped(
  handleSignals: boolean,
  signal: AbortSignal | undefined,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      if (handleSignals) {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
      signal?.removeEventListener("abort", stop);
      resolve();
    };
    if (handleSignals) {
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    }
    if (signal?.aborted) stop();
    else signal?.addEventListener("abort", stop, { once: true });
  });
}
