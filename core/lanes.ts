/**
 * Runs `work` for each item, at most `lanes` at a time, in the items' order; the results keep that order. After a
 * failure no new item starts, and the first failure is thrown only once the items already running have ended, so
 * nothing of the run is still at work (writing, uploading) when the caller hears of it.
 */
export async function inLanes<T, R>(items: T[], lanes: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async () => {
    while (!failure && next < items.length) {
      const i = next++;
      try {
        results[i] = await work(items[i]!);
      } catch (err) {
        failure ??= { err };
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, lane));
  if (failure) throw failure.err;
  return results;
}
