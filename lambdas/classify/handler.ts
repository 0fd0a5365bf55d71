import { entry } from '../../core/component.js';
import { asStepFailure } from '../../core/errors.js';
import { classify } from './classify.js';

/** AWS entry: the Step Functions Classify state invokes this with the execution input. */
export const { handler, forEnvironment } = entry('classify', (deps) => (event: unknown) =>
  classify(event, deps).catch((err: unknown) => {
    throw asStepFailure(err, 'classify');
  }),
);
