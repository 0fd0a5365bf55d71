import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { STEP_LOG } from '../core/logger.js';
import { sandboxed } from './sandbox.js';

/** How a worker runs here: the image's bundle, the task definition's environment, the scratch it may write. */
export interface WorkerTask {
  bundle: string;
  /** The template's environment (local values in) plus the stand-ins' endpoints. */
  env: Record<string, string>;
  scratch: string;
  /** Under bubblewrap, as Fargate runs it: read-only root, only the scratch writable, a non-root user. */
  sandbox: boolean;
}

/** A worker's step mark (`<job>/<step>` started or ended) from one line of its log, or nothing for any other line. */
export function stepMark(line: string): { started: boolean; step: string } | undefined {
  if (!line.includes(`"${STEP_LOG.started}"`) && !line.includes(`"${STEP_LOG.ended}"`)) return undefined;
  try {
    const { message, jobId, step } = JSON.parse(line) as Record<string, unknown>;
    const known = message === STEP_LOG.started || message === STEP_LOG.ended;
    return known && typeof jobId === 'string' && typeof step === 'string' ? { started: message === STEP_LOG.started, step: `${jobId}/${step}` } : undefined;
  } catch {
    // A line that only quotes the words (a tool's output, a cut line) marks nothing, and must not end the pool.
    return undefined;
  }
}

/** A step's scratch (`<job>/<step>` under the task's), and its job's folder once no other step uses it. */
function removeStepScratch(scratch: string, step: string): void {
  rmSync(join(scratch, step), { recursive: true, force: true });
  try {
    rmdirSync(join(scratch, dirname(step)));
  } catch {
    // another step of the job still uses it
  }
}

/** Whether a process group has a member that is not a zombie, by /proc; true where there is no /proc to tell. */
function liveMembers(group: number): boolean {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return true;
  }
  return pids.some((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // After the command's name (in parentheses, which may hold anything): state, parent, process group.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(pgrp) === group && state !== 'Z';
    } catch {
      return false; // gone meanwhile
    }
  });
}

/** A stopped worker gets this long to give its messages back and clean up (ECS waits 30 s; here less). */
const STOP_GRACE_MS = 10_000;
/** A worker that died is replaced after this pause, as the ECS service replaces a task (never in a tight loop). */
const RESTART_MS = 500;

interface Worker {
  child: ChildProcess;
  /** Steps it is running now (`<job>/<step>`, its scratch under the task's), as its log says. */
  steps: Set<string>;
}

/**
 * N warm worker processes consuming the work queue, as the ECS service's tasks do: each started once and kept across
 * steps and jobs, under the sandbox, in its own process group (a terminal's Ctrl-C never reaches it; a stop reaches
 * it and every tool it started). A worker that exits is replaced. Each logs to `logs/worker-<n>.log`.
 */
export class WorkerPool {
  private readonly workers = new Map<number, Worker>();
  private stopping = false;
  private exited = new Set<() => void>();

  constructor(
    private task: WorkerTask,
    readonly size: number,
    private readonly logDir: string,
    /** Ends the long polls the workers are waiting in (the queue stand-in's wakeReceivers): called while they stop. */
    private readonly wakeReceivers: () => void = () => undefined,
  ) {
    mkdirSync(logDir, { recursive: true });
    for (let n = 1; n <= size; n++) this.start(n);
  }

  private start(n: number): void {
    const log = createWriteStream(join(this.logDir, `worker-${n}.log`), { flags: 'a' });
    const command = [process.execPath, this.task.bundle];
    const [file, ...args] = this.task.sandbox ? sandboxed(command, this.task.scratch) : command;
    const child = spawn(file!, args, { env: this.task.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const worker: Worker = { child, steps: new Set() };
    this.workers.set(child.pid!, worker);
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop()!;
      for (const mark of lines.map(stepMark)) {
        if (mark?.started) worker.steps.add(mark.step);
        else if (mark) worker.steps.delete(mark.step);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => log.write(chunk));
    // bubblewrap may exit before the worker in it has said its last (a stop's lines): the log ends once both pipes
    // have closed, not at the exit, or a late line would be written after its end.
    child.once('close', () => log.end());
    child.once('exit', () => {
      this.workers.delete(child.pid!);
      if (!this.stopping) {
        // A worker that died on its own takes its group (the tools it started) and its steps' scratch with it, as a
        // task's processes and storage go on ECS; the step's next delivery starts clean. A stopped one cleans up itself.
        this.signal(child.pid!, 'SIGKILL');
        for (const step of worker.steps) removeStepScratch(this.task.scratch, step);
        setTimeout(() => !this.stopping && this.start(n), RESTART_MS).unref();
      }
      for (const done of this.exited) done();
    });
  }

  /** Process groups of the workers now (bubblewrap and the worker in each). */
  groups(): number[] {
    return [...this.workers.keys()];
  }

  /** Process groups of the workers running a step now: what a test kills to lose a worker mid-step. */
  busy(): number[] {
    return [...this.workers].filter(([, w]) => w.steps.size > 0).map(([pid]) => pid);
  }

  private signal(group: number, name: NodeJS.Signals): void {
    try {
      process.kill(-group, name);
    } catch {
      // already gone
    }
  }

  /** SIGTERM to every worker, as ECS stops tasks (held messages go back to the queue); SIGKILL past the grace. */
  async stop(): Promise<void> {
    this.stopping = true;
    const groups = this.groups();
    for (const group of groups) this.signal(group, 'SIGTERM');
    // bubblewrap ends at once; the worker in the group gives its messages back and cleans up: wait for the whole group.
    // A stopping worker waits for its long polls to answer: the queue answers them at once, again on every check, since
    // a worker that has not yet seen its SIGTERM polls anew (what a poll brings in, a stopping worker gives back).
    const empty = () => groups.every((group) => !this.alive(group));
    for (const until = Date.now() + STOP_GRACE_MS; !empty() && Date.now() < until; ) {
      this.wakeReceivers();
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const group of groups) this.signal(group, 'SIGKILL');
    await new Promise<void>((resolve) => {
      const check = () => this.workers.size === 0 && resolve();
      this.exited.add(check);
      check();
    });
  }

  /**
   * Whether any process of the group is left (bubblewrap, the worker, its tools). One that has exited but is not yet
   * reaped is gone: bubblewrap ends first, so the worker's exit is reaped by init, which may take its time.
   */
  private alive(group: number): boolean {
    try {
      process.kill(-group, 0);
    } catch {
      return false;
    }
    return liveMembers(group);
  }

  /** A redeploy: the workers are stopped and started again with the new task (their messages come back). */
  async replace(task: WorkerTask): Promise<void> {
    await this.stop();
    this.stopping = false;
    this.exited.clear();
    this.task = task;
    for (let n = 1; n <= this.size; n++) this.start(n);
  }
}
