// Hand-written SVG plots for the report: no plotting dependency to install, and the files diff and
// render on GitHub like any other text.
import type { LatencyFigures } from './phase.js';

/** One bar of {@link throughputSvg}. */
export interface ThroughputBar {
  readonly phase: string;
  readonly kind: 'reference' | 'sluice';
  readonly throughput: number;
  readonly unit: string;
}

/** One line of {@link latencySvg}: a phase's percentiles at one offered load. */
export interface LatencySeries {
  readonly phase: string;
  readonly latency: LatencyFigures;
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
const KIND_COLOUR = { reference: '#8a9bb0', sluice: '#e8710a' } as const;
// Colour-blind-safe qualitative palette (Okabe–Ito), then darker repeats.
const PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#000000', '#f0e442'];

/** Escapes text for XML content and attribute values. */
export function xmlEscape(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' }[c]};`,
  );
}

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${r1(x)}" y="${r1(y)}" ${attrs}>${xmlEscape(s)}</text>`;
}

function line(x1: number, y1: number, x2: number, y2: number, attrs: string): string {
  return `<line x1="${r1(x1)}" y1="${r1(y1)}" x2="${r1(x2)}" y2="${r1(y2)}" ${attrs}/>`;
}

function r1(n: number): string {
  return String(Math.round(n * 10) / 10);
}

function doc(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="13">`,
    `<title>${xmlEscape(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    text(width / 2, 24, title, 'text-anchor="middle" font-size="16" font-weight="600"'),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** Round steps of 1, 2 or 5 × 10ⁿ giving about `target` ticks from 0 to at least `max`. */
export function niceTicks(max: number, target = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const ticks: number[] = [];
  for (let v = 0; v < max + step; v += step) ticks.push(v);
  return ticks;
}

/** Thousands separators, no decimals (decimals below 10). */
export function fmtNumber(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { maximumFractionDigits: Math.abs(n) < 10 ? 1 : 0 });
}

/**
 * A horizontal bar chart of throughput per phase, reference loops and sluice phases in two colours,
 * each bar labelled with its value and unit. Linear scale from 0, so bar lengths compare honestly;
 * the labels carry the figures of short bars.
 */
export function throughputSvg(bars: readonly ThroughputBar[]): string {
  const width = 960;
  const left = 190;
  const right = 190;
  const top = 64;
  const barH = 22;
  const gap = 10;
  const plotW = width - left - right;
  const plotH = Math.max(1, bars.length) * (barH + gap);
  const height = top + plotH + 64;
  const title = 'Throughput per phase (units per second, median)';
  const body: string[] = [];
  const legend: [string, string][] = [
    ['reference loop (the limit)', KIND_COLOUR.reference],
    ['sluice', KIND_COLOUR.sluice],
  ];
  legend.forEach(([label, colour], i) => {
    const x = left + i * 220;
    body.push(`<rect x="${x}" y="36" width="14" height="14" fill="${colour}"/>`);
    body.push(text(x + 20, 48, label));
  });
  if (bars.length === 0) {
    body.push(text(width / 2, top + 20, 'no phase ran', 'text-anchor="middle" fill="#666"'));
    return doc(width, height, title, body);
  }
  const finite = bars.map((b) => (Number.isFinite(b.throughput) ? b.throughput : 0));
  const ticks = niceTicks(Math.max(...finite, 1));
  const scaleMax = ticks[ticks.length - 1]!;
  const x = (v: number): number => left + (v / scaleMax) * plotW;
  for (const t of ticks) {
    body.push(line(x(t), top - 4, x(t), top + plotH, 'stroke="#e3e3e3"'));
    body.push(text(x(t), top + plotH + 18, fmtNumber(t), 'text-anchor="middle" fill="#444" font-size="12"'));
  }
  bars.forEach((b, i) => {
    const y = top + i * (barH + gap);
    const v = finite[i]!;
    body.push(text(left - 8, y + barH / 2 + 4, b.phase, 'text-anchor="end"'));
    body.push(
      `<rect class="bar" data-phase="${xmlEscape(b.phase)}" x="${left}" y="${y}" width="${r1(Math.max(1, x(v) - left))}" height="${barH}" fill="${KIND_COLOUR[b.kind]}"/>`,
    );
    body.push(text(x(v) + 6, y + barH / 2 + 4, `${fmtNumber(b.throughput)} ${b.unit}/s`, 'fill="#222"'));
  });
  body.push(line(left, top + plotH, left + plotW, top + plotH, 'stroke="#444"'));
  body.push(line(left, top - 4, left, top + plotH, 'stroke="#444"'));
  body.push(
    text(
      left + plotW / 2,
      top + plotH + 44,
      'units per second (each phase counts its own unit: requests, messages, rows, events, deliveries)',
      'text-anchor="middle" fill="#444"',
    ),
  );
  return doc(width, height, title, body);
}

const PERCENTILES: readonly [key: keyof LatencyFigures, label: string][] = [
  ['p50', 'p50'],
  ['p90', 'p90'],
  ['p99', 'p99'],
  ['p999', 'p99.9'],
  ['max', 'max'],
];

/**
 * Latency percentiles (p50 … max) on a log-scale y axis, one line per phase and offered load, so a
 * tail that is 100× the median is as readable as the median itself.
 */
export function latencySvg(series: readonly LatencySeries[]): string {
  const width = 960;
  const left = 80;
  const right = 250;
  const top = 60;
  const plotH = 360;
  const plotW = width - left - right;
  const height = top + plotH + 70;
  const title = 'Commit → webhook latency by percentile (ms, log scale)';
  const body: string[] = [];
  const values = series.flatMap((s) => PERCENTILES.map(([k]) => Number(s.latency[k])));
  const positive = values.filter((v) => Number.isFinite(v) && v > 0);
  if (series.length === 0 || positive.length === 0) {
    body.push(
      text(width / 2, top + 40, 'no phase with latency figures ran', 'text-anchor="middle" fill="#666"'),
    );
    return doc(width, top + 80, title, body);
  }
  const lo = Math.floor(Math.log10(Math.min(...positive)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...positive))));
  const y = (v: number): number =>
    top + plotH - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * plotH;
  const x = (i: number): number => left + 30 + (i / (PERCENTILES.length - 1)) * (plotW - 60);
  for (let d = lo; d <= hi; d++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** d;
      if (Math.log10(v) > hi) continue;
      body.push(line(left, y(v), left + plotW, y(v), `stroke="${m === 1 ? '#d0d0d0' : '#eeeeee'}"`));
      if (m === 1 || hi - lo <= 3)
        body.push(text(left - 8, y(v) + 4, fmtMs(v), 'text-anchor="end" fill="#444" font-size="12"'));
    }
  }
  PERCENTILES.forEach(([, label], i) => {
    body.push(text(x(i), top + plotH + 20, label, 'text-anchor="middle" fill="#444"'));
  });
  body.push(line(left, top, left, top + plotH, 'stroke="#444"'));
  body.push(line(left, top + plotH, left + plotW, top + plotH, 'stroke="#444"'));
  body.push(text(left + plotW / 2, top + plotH + 48, 'percentile', 'text-anchor="middle" fill="#444"'));
  body.push(
    text(
      18,
      top + plotH / 2,
      'latency, ms (log scale)',
      `text-anchor="middle" fill="#444" transform="rotate(-90 18 ${top + plotH / 2})"`,
    ),
  );
  series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    const dash = i >= PALETTE.length ? ' stroke-dasharray="6 4"' : '';
    const pts = PERCENTILES.map(([k], j) => [x(j), y(Number(s.latency[k]))] as const).filter(([, py]) =>
      Number.isFinite(py),
    );
    const label = `${s.phase} @ ${fmtNumber(s.latency.offeredPerSecond)}/s`;
    body.push(
      `<polyline class="series" data-series="${xmlEscape(label)}" fill="none" stroke="${colour}" stroke-width="2"${dash} points="${pts.map(([px, py]) => `${r1(px)},${r1(py)}`).join(' ')}"/>`,
    );
    for (const [px, py] of pts) body.push(`<circle cx="${r1(px)}" cy="${r1(py)}" r="3.5" fill="${colour}"/>`);
    const ly = top + 10 + i * 22;
    const lx = left + plotW + 20;
    body.push(line(lx, ly, lx + 24, ly, `stroke="${colour}" stroke-width="2"${dash}`));
    body.push(text(lx + 32, ly + 4, `${label} (n=${fmtNumber(s.latency.samples)})`, 'font-size="12"'));
  });
  return doc(width, height, title, body);
}

function fmtMs(v: number): string {
  return v >= 1 ? fmtNumber(v) : String(Number(v.toPrecision(1)));
}
