import { type Clients, createClients, credentialsOf, endpointsOf } from './aws.js';
import { recordCalls } from './call-log.js';
import { type Component, type Config, loadConfig } from './config.js';
import { type JobsTable } from './records.js';

/** Set only by the local runtime: a file every AWS call of the component is appended to (never on AWS). */
export const CALL_LOG_VARIABLE = 'MEDIA_INGEST_CALL_LOG';

/** What a component's logic gets: its own configuration and clients, built once at its entry. */
export interface Deps {
  readonly config: Config;
  readonly clients: Clients;
}

/** A component's configuration and clients from its environment (on AWS, process.env; locally, the template's). */
export function setUp(component: Component, env: Record<string, string | undefined>): Deps {
  const config = loadConfig(component, env);
  const clients = createClients(config, endpointsOf(env), credentialsOf(env));
  // The local runtime asks for a log of every AWS call, which the test suite checks against the template's roles.
  const log = env[CALL_LOG_VARIABLE];
  if (log) for (const client of Object.values(clients)) recordCalls(client, component, log);
  return { config, clients };
}

/** The jobs table as this component reaches it. */
export function jobsTable(deps: Deps): JobsTable {
  return { db: deps.clients.db, name: deps.config.JOBS_TABLE };
}

/**
 * A component's entry point: `handler` is what AWS invokes (set up from process.env at the first call);
 * `forEnvironment` is the same handler on a given environment, which is how the local runtime reaches it.
 */
export function entry<E, R>(component: Component, make: (deps: Deps) => (event: E) => Promise<R>) {
  let handler: ((event: E) => Promise<R>) | undefined;
  return {
    handler: (event: E): Promise<R> => (handler ??= make(setUp(component, process.env)))(event),
    forEnvironment: (env: Record<string, string | undefined>) => make(setUp(component, env)),
  };
}
