import type { z } from 'zod';
import { InvalidRequestError, type MediaIngestError } from './errors.js';

/** Turns a zod failure into one sentence that names each bad field. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(body)'}: ${issue.message}`)
    .join('; ');
}

/**
 * The one parser of what a component is handed (a request body, an execution input, an event, a checkpoint, the
 * worker's overrides): the schema's value, or a stable-coded error (InvalidRequest unless `as` says) naming each field.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what?: string,
  as: new (message: string) => MediaIngestError = InvalidRequestError,
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new as(`${what ? `${what}: ` : ''}${describeZodError(parsed.error)}`);
  return parsed.data;
}

/** A whole number written in decimal digits only: `1e1`, `0x10`, ` 16` or `16.0` are not one. */
export function wholeNumber(text: string): number | undefined {
  return /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}
