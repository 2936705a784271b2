import { describe, expect, it } from 'vitest';
import { FULL_RUN } from './results.fixture.js';
import { latencySvg, niceTicks, throughputSvg, xmlEscape } from './svg.js';

/**
 * A small well-formedness check: one root element, every tag closed in order, attributes quoted,
 * no raw `&` or `<` in text. Enough to catch what string-built SVG gets wrong.
 */
function assertWellFormedXml(xml: string): void {
  const body = xml.trim();
  expect(body.startsWith('<svg ')).toBe(true);
  const stack: string[] = [];
  let roots = 0;
  const token = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = token.exec(body))) {
    expect(m.index, `unparsed text at ${consumed}`).toBe(consumed);
    consumed = token.lastIndex;
    const [, close, name, , selfClose, textPart, strayLt] = m;
    if (strayLt) throw new Error(`stray < at ${m.index}: ${body.slice(m.index, m.index + 40)}`);
    if (textPart !== undefined) {
      expect(textPart, 'raw & in text').not.toMatch(/&(?!(lt|gt|amp|quot|apos|#\d+);)/);
      continue;
    }
    if (close) expect(stack.pop(), `</${name}>`).toBe(name);
    else if (!selfClose) {
      if (stack.length === 0) roots++;
      stack.push(name!);
    } else if (stack.length === 0) roots++;
  }
  expect(consumed).toBe(body.length);
  expect(stack).toEqual([]);
  expect(roots).toBe(1);
}

const bars = FULL_RUN.phases.map((p) => ({
  phase: p.name,
  kind: p.kind,
  throughput: p.median.throughput,
  unit: p.median.unit,
}));

describe('throughputSvg', () => {
  const svg = throughputSvg(bars);

  it('is well-formed SVG', () => {
    assertWellFormedXml(svg);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
  });

  it('draws one labelled bar per phase, reference and sluice in two colours', () => {
    const drawn = [...svg.matchAll(/<rect class="bar" data-phase="([^"]+)"[^>]*fill="([^"]+)"/g)];
    expect(drawn.map((m) => m[1])).toEqual(bars.map((b) => b.phase));
    expect(new Set(drawn.map((m) => m[2])).size).toBe(2);
    expect(svg).toContain('40,000 requests/s');
    expect(svg).toContain('reference loop (the limit)');
  });

  it('still renders with no phase and with a phase that measured nothing', () => {
    assertWellFormedXml(throughputSvg([]));
    const odd = throughputSvg([{ phase: 'a<b & c', kind: 'sluice', throughput: Number.NaN, unit: 'rows' }]);
    assertWellFormedXml(odd);
    expect(odd).toContain('a&lt;b &amp; c');
  });
});

describe('latencySvg', () => {
  const series = FULL_RUN.phases.flatMap((p) =>
    (p.median.latency ?? []).map((latency) => ({ phase: p.name, latency })),
  );

  it('is well-formed SVG with one line per phase and offered load', () => {
    const svg = latencySvg(series);
    assertWellFormedXml(svg);
    const lines = [...svg.matchAll(/<polyline class="series" data-series="([^"]+)"/g)].map((m) => m[1]);
    expect(lines).toEqual(['e2e @ 100/s', 'e2e @ 1,000/s', 'e2e @ 2,000/s']);
    for (const label of ['p50', 'p90', 'p99', 'p99.9', 'max', 'latency, ms (log scale)'])
      expect(svg).toContain(label);
  });

  it('says so when no phase has latency figures', () => {
    const svg = latencySvg([]);
    assertWellFormedXml(svg);
    expect(svg).toContain('no phase with latency figures ran');
  });
});

describe('assertWellFormedXml', () => {
  it('rejects what string-built SVG gets wrong', () => {
    expect(() => assertWellFormedXml('<svg a="1"><g></svg>')).toThrow();
    expect(() => assertWellFormedXml('<svg a="1"><text>a < b</text></svg>')).toThrow();
    expect(() => assertWellFormedXml('<svg a="1"><text>a & b</text></svg>')).toThrow();
    expect(() => assertWellFormedXml('<svg a=1></svg>')).toThrow();
    expect(() => assertWellFormedXml('<svg a="1"></svg><svg a="1"></svg>')).toThrow();
  });
});

describe('helpers', () => {
  it('niceTicks covers the maximum in round steps', () => {
    expect(niceTicks(100_000)).toEqual([0, 20_000, 40_000, 60_000, 80_000, 100_000]);
    expect(niceTicks(53_572)).toEqual([0, 20_000, 40_000, 60_000]);
    expect(niceTicks(0)).toEqual([0, 1]);
  });

  it('xmlEscape escapes markup characters', () => {
    expect(xmlEscape(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  });
});
