import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdir, readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import type { ApiComponent } from '../core/api-routes.js';
import { type Clients, destroyClients } from '../core/aws.js';
import { SQSClient } from '@aws-sdk/client-sqs';
import { parseCallLog, recordCalls, type RecordedCall } from '../core/call-log.js';
import { CALL_LOG_VARIABLE, type Deps, setUp } from '../core/component.js';
import { type Component, type Config, type Settings } from '../core/config.js';
import { executionArn, executionName, type JobRecord } from '../core/job.js';
import { downloadArtifacts, uploadFile } from './artifacts.js';
import { answerOf, type ApiCall, proxyEvent } from './api-events.js';
import { type Deployment, deploymentFor } from './deployment.js';
import { lambdaEnvironment, platformEnv, settingsOf, workerTask } from './environments.js';
import { type ApiHandler, apiHandlers } from './handlers.js';
import { workflowFunctions } from './lambda-threads.js';
import { LocalEngine } from './engine.js';
import { WorkerPool } from './pool.js';
import { type QueueStandIn, startQueueStandIn } from './queue.js';
import { canSandbox } from './sandbox.js';
import { sfnOperations, startSfnApi } from './sfn-api.js';
import { startStandIns, type StandIns } from './standins.js';
import { LOCAL_OUTPUTS, LOCAL_REGION, LOCAL_STATE_MACHINE_ARN, LOCAL_SUBSTITUTIONS, withQueue } from './substitutions.js';
import { TaskTokens } from './task-tokens.js';

export const LOCAL_TENANT = 'local';
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export interface RuntimeOptions {
  /** Where all local state lives: S3 objects, DynamoDB tables, execution histories, logs, scratch. */
  dataDir: string;
  /** Hosts allowlisted by the egress policy on top of MEDIA_INGEST_ALLOW_HOSTS. */
  allowHosts?: string[];
  /** Replaces every Retry's backoff with this many milliseconds (tests); the ASL's own intervals otherwise. */
  retryIntervalMs?: number;
  /** Settings on top of those the environment names (stack props on AWS). */
  settings?: Settings;
  /**
   * Where settings (by their variable names: MEDIA_INGEST_MAX_BYTES…) and secrets (MEDIA_INGEST_CALLBACK_SECRET,
   * MEDIA_INGEST_STT_API_KEY) are read, once, at start. Default: this process's environment.
   */
  env?: Record<string, string | undefined>;
  /** Run the worker under bubblewrap as Fargate runs it. Default: when bubblewrap works here. */
  sandbox?: boolean;
  /** Warm worker processes consuming the work queue (the ECS service's tasks). Default: the number of cores. */
  workers?: number;
  /** Where the runtime says what it is doing at start (the CLI: stderr). Default: nowhere. */
  say?: (line: string) => void;
}

/** The whole product on one machine: the same ASL, handlers and worker, on embedded stand-ins, configured as the template is. */
export class LocalRuntime {
  private deployment!: Deployment;
  private components = new Map<Component, Deps>();
  private lambdas: Record<string, (event: unknown) => Promise<unknown>> = {};
  /** The warm workers: their process groups (bubblewrap and the worker in each), and those running a step now. */
  workers!: WorkerPool;
  private apiHandlers!: Record<ApiComponent, ApiHandler>;

  /** The API's functions, as API Gateway invokes them (local/api-server.ts routes to these). */
  api() {
    return this.apiHandlers;
  }

  /** The reconcile function: what the EventBridge rule invokes on AWS. */
  private reconcile!: (event: unknown) => Promise<unknown>;
  private workflow: Awaited<ReturnType<typeof workflowFunctions>> | undefined;

  private constructor(
    readonly dataDir: string,
    private readonly options: RuntimeOptions,
    private readonly hostEnv: Record<string, string | undefined>,
    private readonly platform: Record<string, string>,
    private readonly standIns: StandIns,
    private readonly sfnServer: Server,
    private readonly queue: QueueStandIn,
    private readonly dynamo: DynamoDBClient,
    /** Whether worker tasks run under bubblewrap (read-only root, only scratch writable, user 1000), as on Fargate. */
    readonly sandboxed: boolean,
  ) {
    this.env = hostEnv;
  }

  static async start(options: RuntimeOptions): Promise<LocalRuntime> {
    const dataDir = resolve(options.dataDir);
    await mkdir(join(dataDir, 'work'), { recursive: true });
    const standIns = await startStandIns(dataDir, LOCAL_OUTPUTS.JobsTableName, [LOCAL_OUTPUTS.StagingBucketName, LOCAL_OUTPUTS.ArtifactsBucketName]);
    const tokens = new TaskTokens();
    // The API must listen before the engine exists (workers are told its address); its operations arrive later.
    const operations: ReturnType<typeof sfnOperations> = {};
    const api = await startSfnApi(operations);
    const queue = await startQueueStandIn();
    const hostEnv = { ...(options.env ?? process.env) };
    const dynamo = new DynamoDBClient({ endpoint: standIns.dynamoEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const platform = platformEnv(standIns, api.endpoint, queue.endpoint, dataDir);
    const runtime = new LocalRuntime(dataDir, options, hostEnv, platform, standIns, api.server, queue, dynamo, options.sandbox ?? canSandbox());
    await runtime.configure(settingsOf(hostEnv, options.settings, options.allowHosts));
    // The state machine's own SendMessage calls, recorded like every component's and held to its role.
    const sqs = recordCalls(new SQSClient({ endpoint: queue.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }), 'statemachine', platform[CALL_LOG_VARIABLE]!);
    runtime.sqs = sqs;
    const engine = await LocalEngine.create({ tokens, lambdas: () => runtime.lambdas, dynamo, sqs }, runtime.deployment.definition, join(dataDir, 'executions'), {
      retryIntervalMs: options.retryIntervalMs,
      // An execution that ends FAILED, TIMED_OUT or ABORTED goes to reconcile, as EventBridge sends it on AWS.
      onEnded: (event) => runtime.reconcile(event),
      substitutions: withQueue(queue.workQueueUrl),
    });
    Object.assign(operations, sfnOperations(engine, tokens));
    runtime.engine = engine;
    return runtime;
  }

  private engine!: LocalEngine;
  private sqs!: SQSClient;

  /**
   * Takes the environments the synthesised template gives with these settings: each Lambda's and the worker's,
   * local values in place of ARNs, endpoints and the task's scratch, secrets from the host.
   */
  private async configure(settings: Settings): Promise<void> {
    // The STT key is a secret ECS injects only when the stack is given one: so here, when the host has one.
    this.deployment = await deploymentFor(settings, { sttApiKeySecret: !!this.env.MEDIA_INGEST_STT_API_KEY }, this.options.say);
    for (const deps of this.components.values()) destroyClients(deps.clients);
    this.components.clear();
    const lambdaEnv = (component: Component) => lambdaEnvironment(this.deployment, component, this.platform, this.env);
    // A redeploy gives later invocations new execution environments; running ones end in theirs.
    await Promise.all(Object.values(this.workflow ?? {}).map((fn) => fn.retire()));
    this.workflow = await workflowFunctions(lambdaEnv, this.deployment.limits, join(this.dataDir, 'logs'));
    this.lambdas = {
      [LOCAL_SUBSTITUTIONS.ClassifyFunctionArn]: this.workflow.classify.invoke,
      [LOCAL_SUBSTITUTIONS.PublishFunctionArn]: this.workflow.publish.invoke,
      [LOCAL_SUBSTITUTIONS.NotifyFunctionArn]: this.workflow.notify.invoke,
    };
    this.reconcile = this.workflow.reconcile.invoke;
    this.apiHandlers = apiHandlers(lambdaEnv);
    await this.queue.configure(this.deployment.queue);
    const task = workerTask(this.deployment, this.platform, this.env, this.workDir, this.sandboxed, this.queue.workQueueUrl);
    // A redeploy replaces the service's tasks: the old workers give their messages back, new ones take them.
    if (this.workers) await this.workers.replace(task);
    else this.workers = new WorkerPool(task, this.options.workers ?? availableParallelism(), join(this.dataDir, 'logs'), () => this.queue.wakeReceivers());
  }

  /**
   * Runs later jobs as a redeploy would: with these settings, and variables (settings by name, secrets, endpoints)
   * over those the runtime started with. Running jobs keep theirs. `reconfigure({})` goes back to the start.
   */
  async reconfigure(settings: Settings, env: Record<string, string> = {}): Promise<void> {
    this.env = { ...this.hostEnv, ...env };
    await this.configure({ ...settingsOf(this.env, this.options.settings, this.options.allowHosts), ...settings });
    // Timeouts live in the definition: a redeploy updates the state machine too.
    this.engine.redefine(this.deployment.definition);
  }

  /** The host's variables now in force (the start's, or a reconfiguration's). */
  private env: Record<string, string | undefined>;

  /** A component's configuration and clients as the template sets it up here (the runtime's own calls, tests). */
  deps(component: Exclude<Component, 'worker' | 'statemachine'>): Deps {
    let deps = this.components.get(component);
    if (!deps) {
      deps = setUp(component, lambdaEnvironment(this.deployment, component, this.platform, this.env));
      this.components.set(component, deps);
    }
    return deps;
  }

  /** What the template gives the API functions, resource names included (the CLI and tests read them here). */
  get config(): Config {
    return { ...this.deps('start-job').config, ...this.deps('create-upload').config, ...this.deps('cancel-job').config };
  }

  /** Every AWS call the components made, as recorded (core/call-log.ts). */
  async awsCalls(): Promise<RecordedCall[]> {
    return parseCallLog(await readFile(this.platform[CALL_LOG_VARIABLE]!, 'utf8').catch(() => ''));
  }

  /** The synthesised template this runtime runs (the offline IAM check reads its roles). */
  get templateFile(): string {
    return this.deployment.templateFile;
  }

  /** The worker's scratch here (the task's /scratch). */
  /** Object bytes moved to and from the local S3 so far (both buckets), as `{ up, down }`. */
  get s3Traffic(): { up: number; down: number } {
    return { ...this.standIns.s3Traffic };
  }

  get workDir(): string {
    return join(this.dataDir, 'work');
  }

  /** Messages in the work queue and in its dead-letter queue, visible or not. */
  queueDepth(): Promise<{ work: number; deadLetters: number }> {
    return this.queue.depth();
  }

  /**
   * Clients on the stand-ins for what callers and operators do themselves (a caller's PUT of an upload, reading
   * artifacts, an operator's StopExecution): no component's calls, so never held to a component's role.
   */
  get operator(): Clients {
    this.caller ??= setUp('create-upload', { ...lambdaEnvironment(this.deployment, 'create-upload', this.platform, this.env), [CALL_LOG_VARIABLE]: '' });
    return this.caller.clients;
  }

  /** The operator's S3 client. */
  get s3() {
    return this.operator.s3;
  }

  private caller: Deps | undefined;

  /** One API request as API Gateway makes it, through the route's entry point; an error answer is thrown with its code. */
  private async call(handler: keyof LocalRuntime['apiHandlers'], call: Omit<ApiCall, 'tenant'>, tenant = LOCAL_TENANT): Promise<unknown> {
    return answerOf(await this.apiHandlers[handler](proxyEvent({ ...call, tenant })));
  }

  /** Starts a job with `POST /jobs`, for the local tenant; `connections` is the request's own field. */
  async submit(body: unknown, connections?: number): Promise<string> {
    const request = connections === undefined ? body : { ...(body as object), connections };
    const answer = await this.call('start-job', { method: 'POST', resource: '/jobs', path: '/jobs', body: JSON.stringify(request) });
    return (answer as { jobId: string }).jobId;
  }

  /** Puts a local file under the local tenant's upload prefix, as a caller's upload would be; returns its key. */
  upload(path: string): Promise<string> {
    return uploadFile(this.s3, this.config.STAGING_BUCKET, LOCAL_TENANT, path);
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

  /** Cancels a job with `DELETE /jobs/{id}`, as its tenant: recorded CANCELLED, execution and worker stopped. */
  async cancel(jobId: string, tenant = LOCAL_TENANT): Promise<void> {
    const route = { method: 'DELETE', resource: '/jobs/{id}', path: `/jobs/${jobId}`, params: { id: jobId } };
    // A job that ended meanwhile (Conflict) needs no cancelling.
    await this.call('cancel-job', route, tenant).catch((err: unknown) => {
      if ((err as Error).name !== 'Conflict') throw err;
    });
  }

  /** Cancels every running job (see cancel). */
  async cancelRunning(): Promise<string[]> {
    const jobs = this.runningJobs();
    for (const { tenant, jobId } of jobs) await this.cancel(jobId, tenant);
    return jobs.map((j) => j.jobId);
  }

  /** The job's record with `GET /jobs/{id}`, as `tenant`; undefined when there is none. */
  async job(jobId: string, tenant = LOCAL_TENANT): Promise<JobRecord | undefined> {
    const route = { method: 'GET', resource: '/jobs/{id}', path: `/jobs/${jobId}`, params: { id: jobId } };
    return (this.call('get-job', route, tenant) as Promise<JobRecord>).catch((err: Error) => {
      if (err.name === 'JobNotFound') return undefined;
      throw err;
    });
  }

  /** Waits for the job's execution to end (callbacks included) and returns the final record. */
  async finish(jobId: string, tenant = LOCAL_TENANT): Promise<JobRecord> {
    await this.engine.get(this.executionArnOf(tenant, jobId))?.done;
    const final = await this.job(jobId, tenant);
    if (!final) throw new Error(`job ${jobId} has no record`);
    return final;
  }

  executionArnOf(tenant: string, jobId: string): string {
    return executionArn(LOCAL_STATE_MACHINE_ARN, executionName(tenant, jobId));
  }

  /** Copies a job's artifacts from local S3 into `dir`, under their artifact names. */
  download(record: JobRecord, dir: string): Promise<string[]> {
    return downloadArtifacts(this.s3, record, dir);
  }

  async stop(): Promise<void> {
    await this.engine.drain();
    await Promise.all(Object.values(this.workflow!).map((fn) => fn.stop()));
    await this.workers.stop();
    await this.queue.stop();
    await new Promise<void>((res) => this.sfnServer.close(() => res()));
    this.sfnServer.closeAllConnections();
    for (const deps of [...this.components.values(), ...(this.caller ? [this.caller] : [])]) destroyClients(deps.clients);
    this.dynamo.destroy();
    this.sqs.destroy();
    await this.standIns.stop();
  }
}
