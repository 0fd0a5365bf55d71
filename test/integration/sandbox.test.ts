import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sandboxed } from '../../local/sandbox.js';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'media-ingest-sandbox-'));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

const run = (script: string) => {
  const [file, ...args] = sandboxed(['sh', '-c', script], scratch);
  return execFileSync(file!, args).toString().trim();
};

describe('the worker sandbox (as Fargate runs the task)', () => {
  it('runs as the unprivileged user 1000', () => {
    expect(run('id -u')).toBe('1000');
  });

  it('may write its scratch and nothing else: not /, /tmp, /etc or the home directory', async () => {
    run(`echo ok > ${scratch}/written`);
    expect((await stat(join(scratch, 'written'))).size).toBe(3);
    for (const path of ['/sandbox-probe', '/tmp/sandbox-probe', '/etc/sandbox-probe', `${process.env.HOME ?? '/root'}/sandbox-probe`]) {
      expect(() => run(`echo x > ${path}`)).toThrow();
    }
  });
});
