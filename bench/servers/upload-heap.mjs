// Peak memory of an upload server while it handles one request, sampled every 5 ms (and at the
// end), shared by the upload peers so that both are measured alike.

/** Starts sampling; the function returned stops and gives the peaks, in bytes. */
export function sampleHeap() {
  let peakHeapUsed = 0;
  let peakArrayBuffers = 0;
  const sample = () => {
    const usage = process.memoryUsage();
    peakHeapUsed = Math.max(peakHeapUsed, usage.heapUsed);
    peakArrayBuffers = Math.max(peakArrayBuffers, usage.arrayBuffers);
  };
  sample();
  const timer = setInterval(sample, 5);
  return () => {
    clearInterval(timer);
    sample();
    return { peakHeapUsed, peakArrayBuffers };
  };
}
