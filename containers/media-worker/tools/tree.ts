import { readdirSync, readFileSync } from 'node:fs';

/** Each process's parent, read from /proc (the worker runs on Linux); empty where there is no /proc. */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  let names: string[] = [];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: the fields go on after its last ")" (state, then ppid).
      out.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function send(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Kills a process and every process it started. Each is stopped as it is found, so none starts another (or leaves its
 * children to init by exiting) before the whole tree is known; then all are killed.
 */
export function killTree(root: number): void {
  const tree = new Set([root]);
  send(root, 'SIGSTOP');
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, parent] of parents()) {
      if (tree.has(parent) && !tree.has(pid)) {
        tree.add(pid);
        send(pid, 'SIGSTOP');
        grew = true;
      }
    }
  }
  for (const pid of tree) send(pid, 'SIGKILL');
}
