/**
 * Paging of MinKMS listings (docs/minkms.md "Listings"): names in ascending order starting with
 * the prefix; a page starts at its `continue_at` (inclusive) and answers the first name it did
 * not return, or '' at the end.
 */

/** Items per page when the request's limit is 0, and the most a page holds. */
export const DEFAULT_PAGE = 1000;

export interface Page {
  names: string[];
  continueAt: string;
}

/**
 * One page of sorted names.
 * @param names ascending, all starting with the prefix
 */
export async function page(names: AsyncIterable<string>, continueAt: string, limit: number, prefix: string): Promise<Page> {
  const size = limit === 0 || limit > DEFAULT_PAGE ? DEFAULT_PAGE : limit;
  const out: string[] = [];
  if (continueAt !== '' && !continueAt.startsWith(prefix)) return { names: out, continueAt: '' };
  for await (const name of names) {
    if (name < continueAt) continue;
    if (out.length === size) return { names: out, continueAt: name };
    out.push(name);
  }
  return { names: out, continueAt: '' };
}

/**
 * One page of a listing, each name described by describe (undefined: the entry went away since
 * it was listed, and is left out).
 */
export async function describedPage<T>(
  names: AsyncIterable<string>,
  req: { continueAt: string; limit: number },
  prefix: string,
  describe: (name: string) => Promise<T | undefined>,
): Promise<{ items: T[]; continueAt: string }> {
  const found = await page(names, req.continueAt, req.limit, prefix);
  const items: T[] = [];
  for (const name of found.names) {
    const item = await describe(name);
    if (item !== undefined) items.push(item);
  }
  return { items, continueAt: found.continueAt };
}
