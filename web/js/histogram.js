// The timeline above the table: an SVG bar chart of the filtered events drawn in pixel
// coordinates (so labels are not stretched), redrawn on resize. Dragging across it, or clicking
// one bar, narrows the time range to the buckets under the pointer.

import { formatShort, formatLocal, formatNumber } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';
const HEIGHT = 84;
const PLOT_TOP = 14;
const PLOT_BOTTOM = 64;
const DRAG_THRESHOLD_PX = 4;

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

export class Histogram {
  /**
   * @param {HTMLElement} host element the SVG fills
   * @param {{onSelect: (range: {start: string, end: string}) => void}} handlers
   */
  constructor(host, { onSelect }) {
    this.host = host;
    this.onSelect = onSelect;
    this.data = null;
    this.width = 0;
    this.drag = null;
    this.svg = svg('svg', { class: 'histogram', height: HEIGHT, role: 'img', 'aria-label': 'Timeline of the filtered events' });
    host.replaceChildren(this.svg);
    this.svg.addEventListener('pointerdown', (e) => this.pointerDown(e));
    this.svg.addEventListener('pointermove', (e) => this.pointerMove(e));
    this.svg.addEventListener('pointerup', (e) => this.pointerUp(e));
    this.svg.addEventListener('pointercancel', () => this.cancelDrag());
    let pending = 0;
    new ResizeObserver(() => {
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(() => {
        if (this.host.clientWidth !== this.width) this.draw();
      });
    }).observe(host);
  }

  loading() {
    this.host.classList.add('is-loading');
  }

  /**
   * Show a histogram response (docs/API.md `GET /api/events/histogram`). `fitToData`: the
   * range has no start, so the axis begins at the first bar (the API rounds an open start down
   * to a coarse boundary, which can leave days of empty axis before the oldest event).
   */
  show(data, { fitToData = false } = {}) {
    this.host.classList.remove('is-loading');
    this.data = normalize(data, fitToData);
    this.draw();
  }

  error(message) {
    this.host.classList.remove('is-loading');
    this.data = null;
    this.width = this.host.clientWidth;
    this.svg.replaceChildren(svg('text', { x: 8, y: HEIGHT / 2, class: 'h-note' }, `Timeline unavailable: ${message}`));
  }

  draw() {
    const width = this.host.clientWidth;
    this.width = width;
    this.svg.setAttribute('width', width);
    this.svg.setAttribute('viewBox', `0 0 ${width} ${HEIGHT}`);
    const d = this.data;
    if (!d || d.buckets.length === 0 || d.max === 0) {
      this.svg.replaceChildren(svg('text', { x: width / 2, y: HEIGHT / 2, class: 'h-note', 'text-anchor': 'middle' }, d ? 'No events in this range' : ''));
      this.svg.setAttribute('aria-label', 'Timeline: no events');
      return;
    }
    const span = d.t1 - d.t0;
    const x = (t) => ((t - d.t0) / span) * width;
    const plotH = PLOT_BOTTOM - PLOT_TOP;
    const bars = svg('g', { class: 'h-bars' });
    for (const b of d.buckets) {
      if (b.count === 0) continue;
      const x0 = x(b.t);
      const x1 = x(b.t + d.bucketMs);
      const h = Math.max(1.5, (b.count / d.max) * plotH);
      const rect = svg('rect', {
        x: x0.toFixed(1),
        y: (PLOT_BOTTOM - h).toFixed(1),
        width: Math.max(1, x1 - x0 - 1).toFixed(1),
        height: h.toFixed(1),
      });
      rect.append(svg('title', {}, `${formatNumber(b.count)} events from ${formatLocal(new Date(b.t).toISOString())}`));
      bars.append(rect);
    }
    const axis = svg('g', { class: 'h-axis' });
    axis.append(svg('line', { x1: 0, x2: width, y1: PLOT_BOTTOM + 0.5, y2: PLOT_BOTTOM + 0.5 }));
    const withTime = span < 4 * 86400e3;
    const ticks = Math.max(2, Math.min(8, Math.floor(width / 140)));
    let lastLabel = '';
    for (let i = 0; i <= ticks; i++) {
      const t = d.t0 + (span * i) / ticks;
      const anchor = i === 0 ? 'start' : i === ticks ? 'end' : 'middle';
      const tx = (width * i) / ticks;
      axis.append(svg('line', { x1: tx, x2: tx, y1: PLOT_BOTTOM, y2: PLOT_BOTTOM + 4 }));
      // Date-only labels repeat when two ticks fall on one day: the second is left unlabelled.
      const label = formatShort(new Date(t), withTime);
      if (label !== lastLabel) axis.append(svg('text', { x: tx, y: HEIGHT - 4, 'text-anchor': anchor }, label));
      lastLabel = label;
    }
    axis.append(svg('text', { x: 2, y: 10, class: 'h-max' }, `${formatNumber(d.max)} per ${bucketLabel(d.bucketMs)}`));
    this.selection = svg('rect', { class: 'h-selection', x: 0, y: 0, width: 0, height: PLOT_BOTTOM, visibility: 'hidden' });
    this.svg.replaceChildren(bars, axis, this.selection);
    this.svg.setAttribute('aria-label', `Timeline: ${formatNumber(d.total)} events, up to ${formatNumber(d.max)} per ${bucketLabel(d.bucketMs)}. Drag to narrow the time range.`);
  }

  /** Pointer x (in SVG px) from an event; one layout read per pointer event, not per bar. */
  localX(e) {
    const r = this.svg.getBoundingClientRect();
    return Math.min(r.width, Math.max(0, e.clientX - r.left));
  }

  pointerDown(e) {
    if (!this.data || this.data.max === 0 || e.button !== 0) return;
    this.svg.setPointerCapture(e.pointerId);
    const x = this.localX(e);
    this.drag = { x0: x, x1: x };
    e.preventDefault();
  }

  pointerMove(e) {
    if (!this.drag) return;
    this.drag.x1 = this.localX(e);
    const lo = Math.min(this.drag.x0, this.drag.x1);
    const w = Math.abs(this.drag.x1 - this.drag.x0);
    this.selection.setAttribute('x', lo.toFixed(1));
    this.selection.setAttribute('width', w.toFixed(1));
    this.selection.setAttribute('visibility', w >= DRAG_THRESHOLD_PX ? 'visible' : 'hidden');
  }

  pointerUp(e) {
    if (!this.drag) return;
    this.drag.x1 = this.localX(e);
    const { x0, x1 } = this.drag;
    this.cancelDrag();
    const d = this.data;
    const toTime = (px) => d.t0 + (px / this.width) * (d.t1 - d.t0);
    let lo = toTime(Math.min(x0, x1));
    let hi = toTime(Math.max(x0, x1));
    if (Math.abs(x1 - x0) < DRAG_THRESHOLD_PX) {
      // A click: the one bucket under the pointer.
      hi = lo;
    }
    // Snap outwards to bucket edges so the range matches the bars a person saw.
    const start = d.grid + Math.floor((lo - d.grid) / d.bucketMs) * d.bucketMs;
    const end = d.grid + Math.ceil((hi - d.grid) / d.bucketMs) * d.bucketMs;
    // `end` is inclusive in the API: stop just before the next bucket begins.
    const endMs = Math.max(end, start + d.bucketMs) - 1;
    this.onSelect({ start: new Date(start).toISOString(), end: new Date(endMs).toISOString() });
  }

  cancelDrag() {
    this.drag = null;
    if (this.selection) this.selection.setAttribute('visibility', 'hidden');
  }
}

function normalize(data, fitToData) {
  const bucketMs = Math.max(1, Number(data?.bucket_seconds) || 3600) * 1000;
  const buckets = (Array.isArray(data?.buckets) ? data.buckets : [])
    .map((b) => ({ t: Date.parse(b.start), count: Number(b.count) || 0 }))
    .filter((b) => !Number.isNaN(b.t))
    .sort((a, b) => a.t - b.t);
  let t0 = Date.parse(data?.start);
  let t1 = Date.parse(data?.end);
  if (buckets.length) {
    // The buckets may start on a rounded edge before `start` and end after `end`.
    const first = fitToData ? buckets.find((b) => b.count > 0) : null;
    if (first) t0 = first.t;
    else t0 = Number.isNaN(t0) ? buckets[0].t : Math.min(t0, buckets[0].t);
    const last = buckets[buckets.length - 1].t + bucketMs;
    t1 = Number.isNaN(t1) ? last : Math.max(t1, last);
  }
  if (Number.isNaN(t0) || Number.isNaN(t1) || t1 <= t0) {
    t0 = 0;
    t1 = 1;
  }
  let max = 0;
  let total = 0;
  for (const b of buckets) {
    if (b.count > max) max = b.count;
    total += b.count;
  }
  const grid = buckets.length ? buckets[0].t : t0;
  return { bucketMs, buckets, t0, t1, max, total, grid };
}

function bucketLabel(ms) {
  const s = ms / 1000;
  if (s % 86400 === 0) return s === 86400 ? 'day' : `${s / 86400} days`;
  if (s % 3600 === 0) return s === 3600 ? 'hour' : `${s / 3600} h`;
  if (s % 60 === 0) return s === 60 ? 'minute' : `${s / 60} min`;
  return `${s} s`;
}
