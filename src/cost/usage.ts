/** The cost model's quantities: what a stack bills, and the usage it assumes where the stack cannot say. */
import type { PriceId } from "./prices";

/** Usage the bill cannot read from the stack, each stated in the report and overridable by a flag. */
export interface UsageAssumptions {
  /** Size of the data volume in GB. @default - the `data_volume_size_gb` variable's default */
  readonly dataVolumeGb?: number;
  /** GB a month sent from the ALB to the developers' browsers. @default 500 */
  readonly egressGb: number;
  /** GB a month the host (or the developers' tasks) sends to the Anthropic API and other internet hosts. @default 100 */
  readonly apiEgressGb: number;
  /** GB of container logs each developer's log group ingests a month. @default 2 */
  readonly logsGbPerDeveloper: number;
  /** GB a month of host logs (system and docker log groups together). @default 4 */
  readonly hostLogsGb: number;
  /** GB of data on the data volume: the first full snapshot. @default 250 */
  readonly usedGb: number;
  /** GB of the developers' data (data volume or EFS homes) changed a day: what each incremental backup adds. @default 0.5 */
  readonly changedGbPerDay: number;
  /** Average ALB capacity units consumed per hour. @default 1 */
  readonly lcuPerHour: number;
  /** Million DNS queries a month to the stack's records. @default 1 */
  readonly dnsQueriesMillion: number;
  /** GB stored in each S3 bucket of the stack (host files, ALB access logs, archives). @default 5 */
  readonly s3GbPerBucket: number;
  /** GB of VPC flow logs a month, per flow log. @default 10 */
  readonly flowLogsGb: number;
  /** Million requests a month through a WAF web ACL. @default 5 */
  readonly wafRequestsMillion: number;
  /** GB in each developer's home on EFS (the ECS platform). @default 30 */
  readonly homeGbPerDeveloper: number;
  /** GB each developer reads from EFS a month, billed by elastic throughput. @default 60 */
  readonly efsReadGbPerDeveloper: number;
  /** GB each developer writes to EFS a month, billed by elastic throughput. @default 20 */
  readonly efsWriteGbPerDeveloper: number;
  /**
   * GB a month each developer's task sends and receives through the NAT gateway (private ECS
   * network): the image pulled at every start, extensions, packages, API calls. @default 20
   */
  readonly natGbPerDeveloper: number;
}

export const DEFAULT_ASSUMPTIONS: UsageAssumptions = {
  egressGb: 500,
  apiEgressGb: 100,
  logsGbPerDeveloper: 2,
  hostLogsGb: 4,
  usedGb: 250,
  changedGbPerDay: 0.5,
  lcuPerHour: 1,
  dnsQueriesMillion: 1,
  s3GbPerBucket: 5,
  flowLogsGb: 10,
  wafRequestsMillion: 5,
  homeGbPerDeveloper: 30,
  efsReadGbPerDeveloper: 60,
  efsWriteGbPerDeveloper: 20,
  natGbPerDeveloper: 20,
};

/** AWS's monthly hours convention (24 × 365 / 12). */
export const HOURS_PER_MONTH = 730;

/** One billed quantity: `quantity` units of `price` a month, always on. */
export interface Usage {
  readonly id: string;
  readonly label: string;
  readonly price: PriceId;
  /** For per-instance-type prices. */
  readonly instanceType?: string;
  readonly quantity: number;
  readonly unit: string;
  /** Stops while the host (or a developer's task) sleeps, so it scales with the schedule's hours. */
  readonly scalesWithHost: boolean;
  /** How the quantity was derived from the stack and the assumptions. */
  readonly basis: string;
}

/** A resource type the cost model does not know: billable or not, it must be looked at. */
export interface UnknownResource {
  readonly type: string;
  readonly count: number;
}

export interface Inventory {
  readonly usage: readonly Usage[];
  readonly unknown: readonly UnknownResource[];
  /** Resolved assumptions, the data volume size included. */
  readonly assumptions: Required<UsageAssumptions>;
}
