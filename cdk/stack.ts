import { Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { Api } from './constructs/api.js';
import { JobsTable } from './constructs/jobs-table.js';
import { Storage, type StorageProps } from './constructs/storage.js';
import { Workers, type WorkersProps } from './constructs/workers.js';
import { Workflow } from './constructs/workflow.js';

export interface MediaIngestStackProps extends StackProps {
  readonly storage?: StorageProps;
  readonly workers?: WorkersProps;
  /** Hosts the egress policy lets through although they resolve to private ranges. Default: none. */
  readonly allowHosts?: readonly string[];
}

/** media-ingest on AWS: storage, job records, Fargate workers, the workflow and its API. */
export class MediaIngestStack extends Stack {
  readonly workflow: Workflow;

  constructor(scope: Construct, id: string, props: MediaIngestStackProps = {}) {
    super(scope, id, props);
    const storage = new Storage(this, 'Storage', props.storage);
    const jobs = new JobsTable(this, 'Jobs');
    const workers = new Workers(this, 'Workers', props.workers);
    this.workflow = new Workflow(this, 'Workflow', {
      table: jobs.table,
      staging: storage.staging,
      artifacts: storage.artifacts,
      workers,
      allowHosts: props.allowHosts,
    });
    new Api(this, 'Api', { table: jobs.table, stateMachine: this.workflow.stateMachine });
  }
}
