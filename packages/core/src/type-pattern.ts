/**
 * Event-type patterns for subscriptions, with the same shape as NATS subject wildcards:
 * tokens are separated by `.`, `*` matches exactly one token, `>` (last only) matches one or more.
 * `mysql.shop.*.insert` matches `mysql.shop.orders.insert`; `mysql.>` matches every CDC event.
 */
export function isValidTypePattern(pattern: string): boolean {
  const tokens = pattern.split('.');
  return tokens.every(
    (t, i) =>
      t.length > 0 &&
      (t !== '>' || i === tokens.length - 1) &&
      (!t.includes('>') || t === '>') &&
      (!t.includes('*') || t === '*'),
  );
}

/** A compiled type pattern: `matches(type)` is a token walk with no allocation per call beyond the split. */
export interface TypeMatcher {
  readonly pattern: string;
  matches(type: string): boolean;
}

/** Compiles a pattern (validate it first with {@link isValidTypePattern}). */
export function compileTypePattern(pattern: string): TypeMatcher {
  const tokens = pattern.split('.');
  const tail = tokens[tokens.length - 1] === '>';
  const fixed = tail ? tokens.length - 1 : tokens.length;
  return {
    pattern,
    matches(type: string): boolean {
      const parts = type.split('.');
      if (tail ? parts.length <= fixed : parts.length !== fixed) return false;
      for (let i = 0; i < fixed; i++) {
        const t = tokens[i];
        if (t !== '*' && t !== parts[i]) return false;
      }
      return true;
    },
  };
}
