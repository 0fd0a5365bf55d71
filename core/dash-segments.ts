import type { RepresentationInfo, SegmentAttributes, TimelineEntry } from 'mpd-parser';

/*
 * How many segments mpd-parser would generate for a representation, counted from its attributes alone: a 600-byte
 * manifest can imply a billion segments, so the limit is applied to this count before anything is expanded. The
 * arithmetic mirrors mpd-parser's own (1.4: parseByDuration, parseByTimeline, generateSegments) for static
 * presentations; a count that cannot be told (a zero duration) is infinite, hence refused.
 */

/** A count mpd-parser's loops would run: NaN runs none, a fraction runs up to the next whole number. */
const loops = (n: number) => (Number.isNaN(n) ? 0 : Math.max(0, Math.ceil(n)));

/** `@duration`: the section (period, else the presentation) over the segment duration, or `@endNumber`. */
function byDuration(a: SegmentAttributes & RepresentationInfo['attributes']): number {
  const endNumber = typeof a.endNumber === 'string' ? parseInt(a.endNumber, 10) : a.endNumber;
  if (typeof endNumber === 'number' && !Number.isNaN(endNumber)) return loops(endNumber);
  const section = typeof a.periodDuration === 'number' ? a.periodDuration : (a.sourceDuration ?? 0);
  return loops((section * (a.timescale || 1)) / a.duration!);
}

/** SegmentTimeline: each `<S>` once plus its `@r` repeats; a negative `@r` runs to the next `@t` or the end. */
function byTimeline(a: SegmentAttributes & RepresentationInfo['attributes'], timeline: TimelineEntry[]): number {
  let time = -1;
  let total = 0;
  timeline.forEach((s, i) => {
    const d = s.d ?? NaN;
    if (time < 0 || (s.t && s.t > time)) time = s.t || 0;
    const r = s.r || 0;
    const next = timeline[i + 1];
    const until = next ? (next.t ?? NaN) : (a.sourceDuration ?? 0) * (a.timescale || 1);
    const count = loops(r < 0 ? (until - time) / d : r + 1);
    total += count;
    time += count * d;
  });
  return total;
}

/** Segments (and ranges mpd-parser builds on the way) one representation implies, before any is generated. */
export function impliedSegments({ attributes, segmentInfo }: RepresentationInfo): number {
  // mpd-parser's precedence: a template, else a base, else a list.
  const info = segmentInfo.template ?? segmentInfo.base ?? segmentInfo.list;
  if (!info) return 0;
  const a = { ...attributes, ...info };
  if (a.duration) return byDuration(a);
  // A SegmentBase is one segment whatever its timeline says.
  if (segmentInfo.segmentTimeline && info !== segmentInfo.base) return byTimeline(a, segmentInfo.segmentTimeline);
  return 1;
}
