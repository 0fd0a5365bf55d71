/** Task tokens handed to workers, settled by SendTaskSuccess / SendTaskFailure, kept alive by heartbeats. */
export class TaskFailure extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    // The ASL's Retry and Catch match on this name, as on AWS.
    this.name = error;
  }
}

interface Pending {
  /** The execution the task belongs to (its name). */
  owner: string;
  resolve(output: unknown): void;
  reject(err: Error): void;
  /** The execution stopped: the worker must be stopped too. */
  abort(err: Error): void;
  onHeartbeat(): void;
}

export class TaskTokens {
  private readonly pending = new Map<string, Pending>();

  register(token: string, pending: Pending): void {
    this.pending.set(token, pending);
  }

  forget(token: string): void {
    this.pending.delete(token);
  }

  /** False when the token is unknown or already settled (TaskDoesNotExist / TaskTimedOut on AWS). */
  succeed(token: string, output: unknown): boolean {
    const p = this.pending.get(token);
    this.pending.delete(token);
    p?.resolve(output);
    return p !== undefined;
  }

  fail(token: string, error: string, cause: string): boolean {
    const p = this.pending.get(token);
    this.pending.delete(token);
    p?.reject(new TaskFailure(error, cause));
    return p !== undefined;
  }

  /** An execution was stopped: its waiting tasks end, as AWS ends them (their heartbeats are refused). */
  abandon(owner: string): void {
    for (const [token, p] of this.pending) {
      if (p.owner !== owner) continue;
      this.pending.delete(token);
      p.abort(new TaskFailure('States.Aborted', 'the execution was stopped'));
    }
  }

  heartbeat(token: string): boolean {
    const p = this.pending.get(token);
    p?.onHeartbeat();
    return p !== undefined;
  }
}
