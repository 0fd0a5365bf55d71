import { entry } from '../../core/component.js';
import { cleanup } from './cleanup.js';

/** AWS entry: invoked by the EventBridge schedule. */
export const { handler, forEnvironment } = entry('cleanup', (deps) => () => cleanup(deps));
