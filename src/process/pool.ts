// A small worker pool for jobs that each start processes (notebooks, submissions): at most
// `jobs` run at once, and results keep the order of the items.

/** Runs `work` over `items` with at most `jobs` at a time, keeping the order of results. */
export async function inPool<T, R>(
  items: T[],
  jobs: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return results;
}
