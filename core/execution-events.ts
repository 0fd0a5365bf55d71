import { z } from 'zod';

/** The EventBridge detail-type Step Functions (source `aws.states`) sends when an execution's status changes. */
export const EXECUTION_STATUS_CHANGE = 'Step Functions Execution Status Change';

/** Ends that may leave a job unrecorded (a timeout, a stop, a failure outside the ASL's Catch): reconcile takes these. */
export const UNRECORDED_ENDS = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;
export type UnrecordedEnd = (typeof UNRECORDED_ENDS)[number];

/**
 * The event as AWS documents it; startDate/stopDate are epoch milliseconds, `input` is null (inputDetails.included
 * false) when it was too large to include. Loose, so fields AWS adds later (redrive*) pass through.
 */
export const ExecutionStatusChangeSchema = z.looseObject({
  version: z.string(),
  id: z.string(),
  'detail-type': z.literal(EXECUTION_STATUS_CHANGE),
  source: z.literal('aws.states'),
  account: z.string(),
  time: z.string(),
  region: z.string(),
  resources: z.array(z.string()),
  detail: z.looseObject({
    executionArn: z.string(),
    stateMachineArn: z.string(),
    name: z.string(),
    status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']),
    startDate: z.number(),
    stopDate: z.number().nullable(),
    input: z.string().nullable(),
    inputDetails: z.object({ included: z.boolean() }).nullable(),
    output: z.string().nullable(),
    outputDetails: z.object({ included: z.boolean() }).nullable(),
    error: z.string().nullable().optional(),
    cause: z.string().nullable().optional(),
  }),
});
export type ExecutionStatusChange = z.input<typeof ExecutionStatusChangeSchema>;
