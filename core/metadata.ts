import { z } from 'zod';

/** metadata.json: one schema, validated before the file is written. */
export const StreamSchema = z.object({
  index: z.number().int(),
  kind: z.string(),
  codec: z.string().nullable(),
  profile: z.string().nullable(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  fps: z.number().nullable(),
  sampleRate: z.number().int().nullable(),
  channels: z.number().int().nullable(),
  language: z.string().nullable(),
});

export const SourceMetadataSchema = z.object({
  url: z.string(),
  type: z.string(),
  title: z.string().nullable(),
  uploader: z.string().nullable(),
  /** YYYY-MM-DD when the source says when it was published. */
  uploadDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).nullable(),
  originalUrl: z.string().nullable(),
  id: z.string().nullable(),
  /** Everything else the caller sent and the file's own tags, sanitised. */
  extra: z.record(z.string(), z.unknown()),
  tags: z.record(z.string(), z.unknown()),
});

/** How source.mp4 was made: the original copied as it is, remuxed, or re-encoded; and why not the cheaper way. */
export const ProcessingSchema = z.object({ path: z.enum(['copied', 'remuxed', 'reencoded']), reason: z.string().nullable() });
export type Processing = z.infer<typeof ProcessingSchema>;

export const MetadataSchema = z.object({
  container: z.string().nullable(),
  durationSeconds: z.number().nonnegative(),
  sizeBytes: z.number().int().nonnegative(),
  bitRate: z.number().nullable(),
  streams: z.array(StreamSchema),
  source: SourceMetadataSchema,
  processing: ProcessingSchema,
});
export type Metadata = z.infer<typeof MetadataSchema>;

/** "20240131", "2024-01-31T10:00:00Z", "2024/01/31" → "2024-01-31"; anything else → null. */
export function normaliseDate(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const m = /^(\d{4})[-/]?(\d{2})[-/]?(\d{2})/.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d] = m;
  const date = new Date(`${y}-${mo}-${d}T00:00:00Z`);
  return Number.isNaN(date.getTime()) || date.getUTCDate() !== Number(d) ? null : `${y}-${mo}-${d}`;
}
