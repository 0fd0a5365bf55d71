import { entry } from '../../core/component.js';
import { asStepFailure } from '../../core/errors.js';
import { publish } from './publish.js';

/** AWS entry: the Step Functions Publish state invokes this with the execution state. */
export const { handler, forEnvironment } = entry('publish', (deps) => (event: unknown) =>
  publish(event, deps).catch((err: unknown) => {
    throw asStepFailure(err, 'publish');
  }),
);
