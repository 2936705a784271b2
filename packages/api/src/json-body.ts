import { isUtf8 } from 'node:buffer';
import { SluiceError } from '@sluice/core';

/**
 * Deepest nesting of arrays and objects a request body may have. JSON.parse copes with any depth,
 * but every recursive step after it (JSON.stringify, the router's filters, a receiver's parser)
 * would overflow its stack on a body that is nothing but brackets.
 */
export const MAX_JSON_DEPTH = 64;

/** Where a value sits in the decoded body text: `text.slice(start, end)`. */
export interface TextSpan {
  readonly start: number;
  readonly end: number;
}

/** A request body checked and parsed by {@link parseJsonBody}. */
export interface JsonBody {
  /** The body decoded as UTF-8. */
  readonly text: string;
  readonly value: unknown;
  /**
   * The span of the last `"data"` member of the root object (one entry), or of each element of a
   * root array (one entry per element, `undefined` where the element has none or is not an object).
   * The data is stored as these exact characters, so numbers beyond double precision survive.
   */
  readonly dataSpans: readonly (TextSpan | undefined)[];
}

function invalid(message: string): SluiceError {
  return new SluiceError('SLUICE_INGEST_INVALID', message);
}

/**
 * Decodes and parses a JSON request body: refuses bytes that are not UTF-8, nesting deeper than
 * {@link MAX_JSON_DEPTH}, and `__proto__` or `constructor.prototype` keys anywhere (they pollute
 * prototypes when such an object is merged into another).
 * @throws SluiceError `SLUICE_INGEST_INVALID`
 */
export function parseJsonBody(body: Buffer): JsonBody {
  if (!isUtf8(body)) throw invalid('the body is not valid UTF-8');
  const text = body.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalid(`the body is not valid JSON: ${(err as Error).message}`);
  }
  return { text, value, dataSpans: scan(text) };
}

interface Frame {
  readonly array: boolean;
  /** The member key the next value belongs to (objects only). */
  key: string | undefined;
  /** This object is the value of a `constructor` key: a `prototype` key inside it is refused. */
  readonly underConstructor: boolean;
  /** Index into `spans` of this object's entry, when its `data` member is tracked. */
  readonly spanIndex: number | undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * One pass over text JSON.parse already accepted: checks depth and keys, and records the spans of
 * `data` members at the places {@link JsonBody.dataSpans} describes. Iterative, so that depth cannot
 * overflow the stack before it is checked.
 */
function scan(text: string): (TextSpan | undefined)[] {
  const spans: (TextSpan | undefined)[] = [];
  const stack: Frame[] = [];
  let dataStart = -1;
  let dataFrame: Frame | undefined;
  let dataDepth = 0;
  let i = 0;
  const n = text.length;
  const valueStarts = (at: number): void => {
    const top = stack.at(-1);
    if (top && !top.array && top.key === 'data' && top.spanIndex !== undefined && dataStart < 0) {
      dataStart = at;
      dataFrame = top;
      dataDepth = stack.length;
    }
  };
  const valueEnds = (end: number): void => {
    if (dataStart >= 0 && stack.length === dataDepth && stack.at(-1) === dataFrame) {
      spans[dataFrame!.spanIndex!] = { start: dataStart, end };
      dataStart = -1;
      dataFrame = undefined;
    }
  };
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i;
      i = stringEnd(text, i);
      const top = stack.at(-1);
      if (top && !top.array && top.key === undefined) {
        top.key = memberName(text.slice(start + 1, i - 1));
        checkKey(top.key, top);
      } else {
        if (stack.length === 1 && top!.array) spans.push(undefined);
        valueStarts(start);
        valueEnds(i);
      }
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      valueStarts(i);
      if (stack.length >= MAX_JSON_DEPTH)
        throw invalid(`the body is nested deeper than ${MAX_JSON_DEPTH} levels`);
      const parent = stack.at(-1);
      const array = c === 0x5b;
      // Tracked objects: the root object, and each element of a root array.
      let spanIndex: number | undefined;
      if (!array && (stack.length === 0 || (stack.length === 1 && parent!.array))) {
        spanIndex = spans.length;
        spans.push(undefined);
      } else if (stack.length === 1 && parent!.array) spans.push(undefined);
      stack.push({
        array,
        key: undefined,
        underConstructor: !array && parent !== undefined && !parent.array && parent.key === 'constructor',
        spanIndex,
      });
      i++;
      continue;
    }
    if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      i++;
      valueEnds(i);
      const top = stack.at(-1);
      if (top && !top.array) top.key = undefined;
      continue;
    }
    if (c === 0x2c /* , */) {
      const top = stack.at(-1);
      if (top && !top.array) top.key = undefined;
      i++;
      continue;
    }
    if (c === 0x3a /* : */ || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
      i++;
      continue;
    }
    // A literal: number, true, false, null.
    const start = i;
    while (i < n && !isDelimiter(text.charCodeAt(i))) i++;
    if (stack.length === 1 && stack[0]!.array) spans.push(undefined);
    valueStarts(start);
    valueEnds(i);
  }
  return spans;
}

function isDelimiter(c: number): boolean {
  return (
    c === 0x2c ||
    c === 0x7d ||
    c === 0x5d ||
    c === 0x3a ||
    c === 0x20 ||
    c === 0x0a ||
    c === 0x0d ||
    c === 0x09
  );
}

/** Index just after the closing quote of the string starting at `i`. */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === BACKSLASH) j++;
    else if (c === QUOTE) return j + 1;
  }
  return text.length;
}

function memberName(raw: string): string {
  return raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
}

function checkKey(key: string, frame: Frame): void {
  if (key === '__proto__') throw invalid('the body has a "__proto__" key, which is refused');
  if (key === 'prototype' && frame.underConstructor)
    throw invalid('the body has a "constructor.prototype" key, which is refused');
}
