import { type Clients, createClients, credentialsOf, endpointsOf } from './aws.js';
import { type Component, type Config, loadConfig } from './config.js';
import { type JobsTable } from './records.js';

/** What a component's logic gets: its own configuration and clients, built once at its entry. */
export interface Deps {
  readonly config: Config;
  readonly clients: Clients;
}

/** A component's configuration and clients from its environment (on AWS, process.env; locally, the template's). */
export function setUp(component: Component, env: Record<string, string | undefined>): Deps {
  const config = loadConfig(component, env);
  return { config, clients: createClients(config, endpointsOf(env), credentialsOf(env)) };
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
