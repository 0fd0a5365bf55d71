import './polyfills.js';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { basename, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { resetClients, s3Client } from '../core/aws.js';
import { type Config, loadConfig, resetConfig } from '../core/config.js';
import { executionName, type JobRecord } from '../core/job.js';
import { ConflictError } from '../core/errors.js';
import { getJob } from '../core/records.js';
import { uploadPrefix } from '../core/uploads.js';
import { cancelJob } from '../lambdas/cancel-job/cancel-job.js';
import { startJob } from '../lambdas/start-job/start-job.js';
import { LocalEngine } from './engine.js';
import { sfnOperations, startSfnApi } from './sfn-api.js';
import { startStandIns, type StandIns } from './standins.js';
import { LOCAL_ARTIFACTS_BUCKET, LOCAL_REGION, LOCAL_STATE_MACHINE_ARN, LOCAL_SUBSTITUTIONS } from './substitutions.js';
import { TaskTokens } from './task-tokens.js';

export const LOCAL_TENANT = 'local';

export interface RuntimeOptions {
  /** Where all local state lives: S3 objects, DynamoDB tables, execution histories, logs, scratch. */
  dataDir: string;
  /** Hosts allowlisted by the egress policy on top of MEDIA_INGEST_ALLOW_HOSTS. */
  allowHosts?: string[];
  /** Replaces every Retry's backoff with this many milliseconds (tests); the ASL's own intervals otherwise. */
  retryIntervalMs?: number;
}

/** The whole product on one machine: the same ASL, handlers and worker, on embedded stand-ins. */
export class LocalRuntime {
  private constructor(
    readonly dataDir: string,
    readonly config: Config,
    private readonly engine: LocalEngine,
    private readonly standIns: StandIns,
    private readonly sfnServer: Server,
    private readonly dynamo: DynamoDBClient,
  ) {}

  static async start(options: RuntimeOptions): Promise<LocalRuntime> {
    const dataDir = resolve(options.dataDir);
    await mkdir(dataDir, { recursive: true });
    const standIns = await startStandIns(dataDir, LOCAL_SUBSTITUTIONS.JobsTableName, [
      LOCAL_SUBSTITUTIONS.StagingBucketName,
      LOCAL_ARTIFACTS_BUCKET,
    ]);
    const tokens = new TaskTokens();
    // The API must listen before the engine exists (workers are told its address); its operations arrive later.
    const operations: ReturnType<typeof sfnOperations> = {};
    const api = await startSfnApi(operations);
    // What the Lambdas (in-process) and the worker (child processes) read, as AWS would give them.
    const allowHosts = [...(process.env.MEDIA_INGEST_ALLOW_HOSTS ?? '').split(','), ...(options.allowHosts ?? [])]
      .map((h) => h.trim())
      .filter(Boolean);
    const env: Record<string, string> = {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_ENDPOINT_URL_S3: standIns.s3Endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: standIns.dynamoEndpoint,
      AWS_ENDPOINT_URL_SFN: api.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      JOBS_TABLE: LOCAL_SUBSTITUTIONS.JobsTableName,
      STAGING_BUCKET: LOCAL_SUBSTITUTIONS.StagingBucketName,
      ARTIFACTS_BUCKET: LOCAL_ARTIFACTS_BUCKET,
      STATE_MACHINE_ARN: LOCAL_STATE_MACHINE_ARN,
      MEDIA_INGEST_ALLOW_HOSTS: allowHosts.join(','),
      WORK_DIR: process.env.WORK_DIR ?? join(dataDir, 'work'),
    };
    Object.assign(process.env, env);
    resetConfig();
    resetClients();
    const config = loadConfig();
    const dynamo = new DynamoDBClient({ endpoint: standIns.dynamoEndpoint, region: LOCAL_REGION });
    const engine = await LocalEngine.create(
      { tokens, workerEnv: env, logDir: join(dataDir, 'logs'), dynamo },
      join(dataDir, 'executions'),
      options.retryIntervalMs,
    );
    Object.assign(operations, sfnOperations(engine, tokens));
    return new LocalRuntime(dataDir, config, engine, standIns, api.server, dynamo);
  }

  /** Starts a job exactly as `POST /jobs` does, for the local tenant. */
  async submit(body: unknown, connections?: number): Promise<string> {
    const { jobId } = await startJob({ tenant: LOCAL_TENANT, body, connections }, this.config);
    return jobId;
  }

  /** Puts a local file under the local tenant's upload prefix, as a caller's upload would be; returns its key. */
  async upload(path: string): Promise<string> {
    const name = basename(path).replace(/[^A-Za-z0-9._-]/g, '_').slice(-100) || 'upload';
    const key = `${uploadPrefix(this.config.MEDIA_INGEST_UPLOAD_PREFIX, LOCAL_TENANT)}${randomUUID()}/${name}`;
    await new Upload({ client: s3Client(), params: { Bucket: this.config.STAGING_BUCKET!, Key: key, Body: createReadStream(path) } }).done();
    return key;
  }

  /** Resolves when no execution is running. */
  drained(): Promise<void> {
    return this.engine.drain();
  }

  /** Jobs whose execution is still running. */
  runningJobs(): Array<{ tenant: string; jobId: string }> {
    return this.engine.running().map((e) => {
      const { tenant, jobId } = JSON.parse(e.input) as { tenant: string; jobId: string };
      return { tenant, jobId };
    });
  }

  /** Cancels every running job as `DELETE /jobs/{id}` would: recorded CANCELLED, execution and worker stopped. */
  async cancelRunning(): Promise<string[]> {
    const jobs = this.runningJobs();
    for (const { tenant, jobId } of jobs) {
      // A job that ended meanwhile (Conflict) needs no cancelling.
      await cancelJob(tenant, jobId, this.config).catch((err: unknown) => {
        if (!(err instanceof ConflictError)) throw err;
      });
    }
    return jobs.map((j) => j.jobId);
  }

  async job(jobId: string, tenant = LOCAL_TENANT): Promise<JobRecord | undefined> {
    return getJob(this.config.JOBS_TABLE!, tenant, jobId);
  }

  /** Waits for the job's execution to end (callbacks included) and returns the final record. */
  async finish(jobId: string, tenant = LOCAL_TENANT): Promise<JobRecord> {
    await this.engine.get(this.executionArnOf(tenant, jobId))?.done;
    const final = await this.job(jobId, tenant);
    if (!final) throw new Error(`job ${jobId} has no record`);
    return final;
  }

  executionArnOf(tenant: string, jobId: string): string {
    return LOCAL_STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:') + `:${executionName(tenant, jobId)}`;
  }

  /** Copies a job's artifacts from local S3 into `dir`, under their artifact names. */
  async download(record: JobRecord, dir: string): Promise<string[]> {
    await mkdir(dir, { recursive: true });
    const written: string[] = [];
    for (const artifact of record.artifacts) {
      const out = await s3Client().send(new GetObjectCommand({ Bucket: artifact.bucket, Key: artifact.key }));
      const path = join(dir, artifact.name);
      await pipeline(out.Body as Readable, createWriteStream(path));
      written.push(path);
    }
    return written;
  }

  async stop(): Promise<void> {
    await this.engine.drain();
    await new Promise<void>((res) => this.sfnServer.close(() => res()));
    this.sfnServer.closeAllConnections();
    resetClients();
    this.dynamo.destroy();
    await this.standIns.stop();
  }
}
