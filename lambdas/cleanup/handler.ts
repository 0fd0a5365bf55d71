import { loadConfig } from '../../core/config.js';
import { cleanup } from './cleanup.js';

/** AWS entry: invoked by the EventBridge schedule. */
export const handler = async () => cleanup(loadConfig());
