import { TypeGuard, type TSchema } from '@sinclair/typebox';

// Hints that turn "unknown key" into something a person can act on: the nearest valid key at the
// same level ("did you mean `endpoints`?"), or the place where a key of that name does belong.

/**
 * The optimal-string-alignment distance between two strings: insertions, deletions, substitutions
 * and swaps of two neighbours each cost 1, so `partitons` is 1 from `partitions` and `tiemoutMs` 1
 * from `timeoutMs`.
 */
export function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, before[j - 2]! + 1);
      current.push(d);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}

// Case and word separators are not what tells two keys apart: `max_in_flight` and `MaxInFlight`
// both mean `maxInFlight`.
function normal(key: string): string {
  return key.replace(/[_\-\s]/g, '').toLowerCase();
}

/**
 * The candidate closest to `key`, when it is close enough to be what was meant: at most one edit
 * for keys of up to 4 characters, two up to 8, three beyond (after ignoring case, `_` and `-`).
 * Ties go to the earlier candidate.
 */
export function nearest(key: string, candidates: Iterable<string>): string | undefined {
  const wanted = normal(key);
  const limit = wanted.length <= 4 ? 1 : wanted.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    if (candidate === key) continue;
    const d = editDistance(wanted, normal(candidate));
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Every key the schema allows, with the dotted places it belongs (`deliverer.allowNetworks`, `endpoints[].allowNetworks`). */
export function keyPlaces(schema: TSchema, prefix = ''): Map<string, string[]> {
  const places = new Map<string, string[]>();
  const add = (key: string, place: string): void => {
    const list = places.get(key) ?? [];
    if (!list.includes(place)) list.push(place);
    places.set(key, list);
  };
  const walk = (s: TSchema, at: string): void => {
    if (TypeGuard.IsUnion(s)) for (const v of s.anyOf) walk(v, at);
    else if (TypeGuard.IsArray(s)) walk(s.items, `${at}[]`);
    else if (TypeGuard.IsObject(s))
      for (const [key, prop] of Object.entries(s.properties)) {
        const place = at === '' ? key : `${at}.${key}`;
        add(key, place);
        walk(prop, place);
      }
  };
  walk(schema, prefix);
  return places;
}

/** `/endpoints/0/url` → `endpoints[].url`, the form {@link keyPlaces} uses. */
export function placeOf(path: string): string {
  return path
    .split('/')
    .filter(Boolean)
    .map((part) => (/^\d+$/.test(part) ? '[]' : `.${part.replace(/~1/g, '/').replace(/~0/g, '~')}`))
    .join('')
    .replace(/^\./, '');
}

/**
 * The message for the unknown key at `path` (a JSON pointer): the nearest key at its own level, else
 * where a key of that name belongs, else plainly "unknown key".
 */
export function unknownKeyMessage(
  path: string,
  siblings: readonly string[],
  places: ReadonlyMap<string, readonly string[]>,
): string {
  const place = placeOf(path);
  const key = place.slice(place.lastIndexOf('.') + 1);
  const near = nearest(key, siblings);
  if (near !== undefined) return `unknown key; did you mean \`${near}\`?`;
  const elsewhere = places.get(key);
  // sources[] items differ by kind: `url` is a key of sources[] items, but not of an s3 one.
  if (elsewhere?.includes(place)) return 'unknown key for this `kind`';
  if (elsewhere !== undefined)
    return `unknown key here; \`${key}\` belongs in ${elsewhere.map((p) => `\`${p}\``).join(' or ')}`;
  return 'unknown key';
}
