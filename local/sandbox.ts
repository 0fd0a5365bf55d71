import { execFileSync } from 'node:child_process';

/** The unprivileged user the worker image runs as (`USER node` in the Dockerfile). */
const TASK_UID = '1000';

/**
 * A command under bubblewrap, as Fargate runs the worker: the whole root read-only (`readonlyRootFilesystem`), only
 * the scratch folder writable, as a non-root user (`user: node`). The network stays shared: the task reaches the
 * sources and, here, the stand-ins on loopback.
 */
export function sandboxed(command: string[], scratch: string): string[] {
  return [
    'bwrap',
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    '--proc', '/proc',
    '--bind', scratch, scratch,
    '--unshare-user', '--uid', TASK_UID, '--gid', TASK_UID,
    '--chdir', scratch,
    '--',
    ...command,
  ];
}

/** Whether bubblewrap runs here (it needs user namespaces); the README's setup installs it. */
export function canSandbox(): boolean {
  try {
    execFileSync('bwrap', ['--ro-bind', '/', '/', '--unshare-user', '--uid', TASK_UID, '--', 'true'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}
