import { entry } from '../../core/component.js';
import { withSecrets } from '../../core/secrets.js';
import { reconcile } from './reconcile.js';

/** AWS entry: the EventBridge rule on this state machine's FAILED, TIMED_OUT and ABORTED executions. */
export const { handler, forEnvironment } = entry('reconcile', (deps) => async (event: unknown) =>
  reconcile(event, { ...deps, config: await withSecrets(deps.config) }),
);
