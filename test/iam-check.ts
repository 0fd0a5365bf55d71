/**
 * The offline IAM check across the suite: every runtime a test file starts has each AWS call its components made
 * evaluated, when it stops, against the roles of the template it ran; a denied call makes the stop (the file's
 * afterAll) fail, naming each denial.
 */
import { readFileSync } from 'node:fs';
import { LocalRuntime } from '../local/runtime.js';

const stop = LocalRuntime.prototype.stop;

LocalRuntime.prototype.stop = async function checkedStop(this: LocalRuntime) {
  let denials: string[] = [];
  try {
    await this.drained();
    const calls = [...new Map((await this.awsCalls()).map((c) => [JSON.stringify(c), c])).values()];
    // Loaded only here: the evaluator (AGPL, tests only) costs nothing to the files that start no runtime.
    const { deniedCalls } = await import('./fixtures/iam.js');
    const template = JSON.parse(readFileSync(this.templateFile, 'utf8'));
    denials = (await deniedCalls(template, calls)).map((d) => `${d.component} ${d.action} on ${d.arn}: ${d.explanation}`);
  } finally {
    await stop.call(this);
  }
  if (denials.length) throw new Error(`AWS calls the deployed roles would deny:\n${denials.join('\n')}`);
};
