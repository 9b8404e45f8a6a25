/**
 * ALB layer, the fleet's edge: the access-log bucket and the TLS certificate every load balancer
 * shares, the load balancers of each platform that runs (`Balancer`: the host's one, ECS's one per
 * shard of developers), and each developer's DNS alias to the balancer that serves them — all
 * built from `routingTable(fleet)`.
 */
import { AcmCertificate } from "@cdktf/provider-aws/lib/acm-certificate";
import { AcmCertificateValidation } from "@cdktf/provider-aws/lib/acm-certificate-validation";
import type { Instance } from "@cdktf/provider-aws/lib/instance";
import type { Lb } from "@cdktf/provider-aws/lib/lb";
import type { LbListenerRule } from "@cdktf/provider-aws/lib/lb-listener-rule";
import type { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";
import type { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import type { Subnet } from "@cdktf/provider-aws/lib/subnet";
import type { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { type IResolvable, Token } from "cdktf";
import { Construct } from "constructs";
import { developerConstructIds } from "../naming";
import type { Fleet, PlatformKind } from "../roster";
import { type Route, routesByShard, routingTable } from "../routing";
import { AwsEnvironment, formatArn, partitionOf } from "./aws-environment";
import { address, choose, countWhen, expression, first, isEmptyString, oneOf } from "./expressions";
import { Balancer, type BalancerSettings } from "./balancer";
import { ACM_CERTIFICATE_ARN, ALLOWED_SSL_POLICIES, DEFAULT_SSL_POLICY } from "./inputs";
import { PrivateBucket, type ServerAccessLogTarget } from "./private-bucket";
import { check, checkMaxLength, checkMinCount, checkOneOf, checkPattern, checkWholeRange } from "./validation";

/**
 * Seconds an idle connection stays open. code-server keeps one websocket per browser tab, and a
 * developer reading code sends nothing for long stretches; at the ALB's 60 s default the editor
 * would reconnect constantly. One hour matches the stickiness window.
 */
export const IDLE_TIMEOUT_SECONDS = 3600;
/** What ELB accepts as an idle timeout, in seconds. */
const IDLE_TIMEOUT_RANGE = { min: 1, max: 4000 } as const;
/** ELB's limit on load balancer names. */
export const MAX_LOAD_BALANCER_NAME = 32;
/** S3 prefix of the access logs inside their bucket. */
export const ACCESS_LOG_PREFIX = "alb";
/** Days access logs are kept in S3. */
export const ACCESS_LOG_RETENTION_DAYS = 90;

/**
 * Elastic Load Balancing's log-writer account in the regions that predate August 2022. Newer
 * regions (ap-southeast-7 among them) grant the logdelivery service principal instead.
 */
const ELB_LOG_ACCOUNTS: Readonly<Record<string, string>> = {
  "us-east-1": "127311923021",
  "us-east-2": "033677994240",
  "us-west-1": "027434742980",
  "us-west-2": "797873946194",
  "af-south-1": "098369216593",
  "ap-east-1": "754344448648",
  "ap-southeast-3": "589379963580",
  "ap-south-1": "718504428378",
  "ap-northeast-3": "383597477331",
  "ap-northeast-2": "600734575887",
  "ap-southeast-1": "114774131450",
  "ap-southeast-2": "783225319266",
  "ap-northeast-1": "582318560864",
  "ca-central-1": "985666609251",
  "eu-central-1": "054676820928",
  "eu-west-1": "156460612806",
  "eu-west-2": "652711504416",
  "eu-south-1": "635631232127",
  "eu-west-3": "009996457667",
  "eu-north-1": "897822967062",
  "me-south-1": "076674570225",
  "sa-east-1": "507241528517",
  "us-gov-west-1": "048591011584",
  "us-gov-east-1": "190560391635",
  "cn-north-1": "638102146993",
  "cn-northwest-1": "037604701340",
};

/** The principal allowed to write ALB access logs in `region`. */
export function accessLogPrincipal(region: string): { AWS: string } | { Service: string } {
  const account = ELB_LOG_ACCOUNTS[region];
  return account
    ? { AWS: formatArn({ partition: partitionOf(region), service: "iam", region: "", account, resource: "root" }) }
    : { Service: "logdelivery.elasticloadbalancing.amazonaws.com" };
}

export interface AlbLayerProps {
  /** The roster: one route per developer (`routingTable`), DNS for each to the platform that serves them. */
  readonly fleet: Fleet;
  /** The VPC of the target groups. */
  readonly vpc: Vpc;
  /** Public subnets the load balancers span, in two zones at least. */
  readonly subnets: readonly Subnet[];
  /** The load balancers' security group. */
  readonly securityGroup: SecurityGroup;
  /**
   * The host, when it runs: one load balancer (`<project>-<environment>`) for every developer,
   * registering the instance on each developer's port.
   * @default - no host balancer
   */
  readonly host?: Instance;
  /**
   * Whether ECS runs: load balancers of task addresses, one per shard of ALB_SHARD_SIZE priorities
   * (`<project>-<environment>-<shard>`), each developer's service registering its task.
   * @default false
   */
  readonly ecs?: boolean;
  /** Route53 hosted zone id of the roster's domain: certificate validation and developer records. */
  readonly hostedZoneId: string;
  /**
   * ARN of an existing ACM certificate covering `*.<domain>`, or empty to request one and
   * validate it through DNS.
   * @default "" (request one)
   */
  readonly certificateArn?: string;
  /**
   * TLS policy of the HTTPS listeners, one of `ALLOWED_SSL_POLICIES` (TLS 1.3 policies only).
   * @default "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
   */
  readonly sslPolicy?: string;
  /**
   * Deletion protection on the load balancers.
   * @default true
   */
  readonly deletionProtection?: IResolvable | boolean;
  /**
   * Seconds an idle connection stays open, 1 to 4000.
   * @default 3600 (code-server's websockets sit idle for long stretches)
   */
  readonly idleTimeoutSeconds?: number;
  /**
   * Where the access-log bucket's own S3 server access logs go.
   * @default - none
   */
  readonly serverAccessLogs?: ServerAccessLogTarget;
}

/**
 * The fleet's edge: the access-log bucket, the TLS certificate (requested and DNS-validated, or an
 * existing one by ARN), the load balancers of each platform that runs (`Balancer`), and per
 * developer a DNS alias to the balancer of the platform that serves them.
 */
export class AlbLayer extends Construct {
  readonly accessLogs: PrivateBucket;
  /** The host's load balancer, when the host runs. */
  readonly hostBalancer?: Balancer;
  /** ECS's load balancers by shard, when ECS runs. */
  readonly ecsBalancers: ReadonlyMap<number, Balancer>;
  /** Each developer's balancer on the platform that serves them, by developer name. */
  readonly servingBalancers: ReadonlyMap<string, Balancer>;
  private certificate?: string;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: AlbLayerProps,
  ) {
    super(scope, id);
    const certificateArn = props.certificateArn ?? "";
    const sslPolicy = props.sslPolicy ?? DEFAULT_SSL_POLICY;
    const idleTimeoutSeconds = props.idleTimeoutSeconds ?? IDLE_TIMEOUT_SECONDS;
    this.validate(props, { certificateArn, sslPolicy, idleTimeoutSeconds });

    this.accessLogs = this.accessLogBucket();
    const settings: BalancerSettings = {
      vpc: props.vpc,
      subnets: props.subnets,
      securityGroup: props.securityGroup,
      sslPolicy,
      idleTimeoutSeconds,
      deletionProtection: props.deletionProtection ?? true,
      accessLogs: { bucket: this.accessLogs.bucket.id, prefix: ACCESS_LOG_PREFIX, policy: this.accessLogs.policy },
      certificateArn: () => (this.certificate ??= this.listenerCertificate(certificateArn)),
    };
    const routes = routingTable(props.fleet);
    const { namePrefix, platform } = props.fleet;
    const serving = new Map<string, Balancer>();
    // Each developer's DNS record follows their route on the balancer that serves them.
    const servingRoute = (route: Route, balancer: Balancer) => {
      serving.set(route.developer, balancer);
      this.dnsRecord(route, balancer);
    };
    const afterRoute = (kind: PlatformKind) => (platform === kind ? servingRoute : undefined);
    // The host's balancer keeps the ids it has had since it was the only one: its addresses are a contract.
    if (props.host) {
      const targets = { kind: "instance", instance: props.host } as const;
      this.hostBalancer = new Balancer(this, settings, { name: namePrefix, routes, targets, afterRoute: afterRoute("host") });
    }
    this.ecsBalancers = new Map(
      [...(props.ecs ? routesByShard(routes) : [])].map(([shard, shardRoutes]) => {
        const scope = new Construct(this, `shard-${shard}`);
        const balancer = new Balancer(scope, settings, {
          name: `${namePrefix}-${shard}`,
          routes: shardRoutes,
          targets: { kind: "ip" },
          afterRoute: afterRoute("ecs"),
        });
        return [shard, balancer];
      }),
    );
    check(
      this,
      serving.size === routes.length,
      () => `the ${platform} platform serves the developers, but no load balancer of it was made`,
    );
    this.servingBalancers = serving;
  }

  /** The host's load balancer, or ECS's first when no host runs: what `alb_dns_name` names. */
  get loadBalancer(): Lb {
    return (this.hostBalancer ?? [...this.ecsBalancers.values()][0]).loadBalancer;
  }

  /** Each developer's target group on the platform that serves them, by developer name. */
  get targetGroups(): ReadonlyMap<string, LbTargetGroup> {
    return new Map([...this.servingBalancers].map(([developer, balancer]) => [developer, balancer.targetGroups.get(developer)!]));
  }

  /** The load balancers the alarms watch, by alarm suffix: the host's as "", each ECS shard's by its number. */
  watchedLoadBalancers(): Map<string, Lb> {
    return new Map([
      ...(this.hostBalancer ? [["", this.hostBalancer.loadBalancer] as const] : []),
      ...[...this.ecsBalancers].map(([shard, b]) => [String(shard), b.loadBalancer] as const),
    ]);
  }

  /** Each developer's target group and load balancer on the platform that serves them, by developer name. */
  servingRoutes(): Map<string, { targetGroup: LbTargetGroup; loadBalancer: Lb }> {
    return new Map(
      [...this.servingBalancers].map(([developer, b]) => [
        developer,
        { targetGroup: b.targetGroups.get(developer)!, loadBalancer: b.loadBalancer },
      ]),
    );
  }

  /** Each developer's ECS target group and listener rule, by developer name (empty when ECS does not run). */
  ecsRoutes(): { targetGroups: Map<string, LbTargetGroup>; listenerRules: Map<string, LbListenerRule> } {
    const balancers = [...this.ecsBalancers.values()];
    return {
      targetGroups: new Map(balancers.flatMap((b) => [...b.targetGroups])),
      listenerRules: new Map(balancers.flatMap((b) => [...b.listenerRules])),
    };
  }

  /** The developer's DNS alias, to the balancer that serves them. */
  private dnsRecord(route: Route, balancer: Balancer): void {
    new Route53Record(this, developerConstructIds({ name: route.developer }).alb.dnsRecord, {
      zoneId: this.props.hostedZoneId,
      name: route.host,
      type: "A",
      alias: { name: balancer.loadBalancer.dnsName, zoneId: balancer.loadBalancer.zoneId, evaluateTargetHealth: true },
    });
  }

  /** The private bucket the load balancers write their access logs to, kept ACCESS_LOG_RETENTION_DAYS. */
  private accessLogBucket(): PrivateBucket {
    const { fleet } = this.props;
    const aws = AwsEnvironment.of(this);
    return new PrivateBucket(this, "access-logs", {
      namePrefix: `${fleet.namePrefix}-alb-logs-`,
      lifecycleRules: [
        {
          id: "expire-access-logs",
          status: "Enabled",
          filter: [{ prefix: `${ACCESS_LOG_PREFIX}/` }],
          expiration: [{ days: ACCESS_LOG_RETENTION_DAYS }],
          noncurrentVersionExpiration: [{ noncurrentDays: 7 }],
        },
      ],
      abortIncompleteUploadsAfterDays: 1,
      serverAccessLogs: this.props.serverAccessLogs,
      extraStatements: (bucketArn) => [
        {
          Sid: "AlbWritesAccessLogs",
          Effect: "Allow",
          Principal: accessLogPrincipal(fleet.region),
          Action: "s3:PutObject",
          Resource: `${bucketArn}/${ACCESS_LOG_PREFIX}/AWSLogs/${aws.account}/*`,
        },
      ],
    });
  }

  /** The HTTPS listeners' certificate: `certificateArn`, or one requested and validated when it is empty. */
  private listenerCertificate(certificateArn: string): string {
    const { fleet, hostedZoneId } = this.props;
    if (!Token.isUnresolved(certificateArn)) {
      // Known at synth time: create exactly what it needs, no conditional resources.
      return certificateArn === "" ? this.requestCertificate(fleet, hostedZoneId) : certificateArn;
    }
    // A plan-time variable: the certificate resources exist only when it is empty.
    const request = isEmptyString(certificateArn);
    return choose(request, this.requestCertificate(fleet, hostedZoneId, countWhen(request)), certificateArn);
  }

  /**
   * A DNS-validated ACM certificate for `*.<domain>` and `<domain>`; its ARN once validated.
   * With `count`, the three resources exist only when it is 1.
   */
  private requestCertificate(fleet: Fleet, hostedZoneId: string, count?: number): string {
    const index = count === undefined ? "" : "[0]";
    const certificate = new AcmCertificate(this, "certificate", {
      count,
      domainName: `*.${fleet.domain}`,
      subjectAlternativeNames: [fleet.domain],
      validationMethod: "DNS",
      lifecycle: { createBeforeDestroy: true },
    });
    // `*.<domain>` and `<domain>` share one validation record, so one record validates both.
    const validationRecord = (attribute: string) =>
      Token.asString(expression(this, `tolist(${address(certificate)}${index}.domain_validation_options)[0].${attribute}`));
    const validationDns = new Route53Record(this, "certificate-validation-record", {
      count,
      zoneId: hostedZoneId,
      name: validationRecord("resource_record_name"),
      type: validationRecord("resource_record_type"),
      records: [validationRecord("resource_record_value")],
      ttl: 300,
      allowOverwrite: true,
    });
    const validation = new AcmCertificateValidation(this, "certificate-validation", {
      count,
      certificateArn: count === undefined ? certificate.arn : first(certificate, "arn"),
      validationRecordFqdns: [count === undefined ? validationDns.fqdn : first(validationDns, "fqdn")],
    });
    return count === undefined ? validation.certificateArn : oneOf(validation, "certificate_arn");
  }

  private validate(props: AlbLayerProps, resolved: { certificateArn: string; sslPolicy: string; idleTimeoutSeconds: number }): void {
    // An ECS shard's balancer adds "-<shard>" (up to 999) to the prefix.
    const name = props.ecs ? `${props.fleet.namePrefix}-999` : props.fleet.namePrefix;
    checkMaxLength(this, "load balancer name (fleet.namePrefix)", name, MAX_LOAD_BALANCER_NAME, "ELB's limit");
    checkPattern(
      this,
      "load balancer name (fleet.namePrefix)",
      name,
      /^(?!internal-)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/,
      "letters, digits and inner '-', not starting with 'internal-' (ELB naming)",
    );
    checkMinCount(this, "subnets", props.subnets, 2, "an ALB spans at least two availability zones");
    if (resolved.certificateArn !== "") {
      checkPattern(
        this,
        "certificateArn",
        resolved.certificateArn,
        new RegExp(ACM_CERTIFICATE_ARN),
        'an ACM certificate ARN, or "" to request one',
      );
    }
    checkOneOf(this, "sslPolicy", resolved.sslPolicy, ALLOWED_SSL_POLICIES as readonly string[]);
    checkWholeRange(this, "idleTimeoutSeconds", resolved.idleTimeoutSeconds, IDLE_TIMEOUT_RANGE.min, IDLE_TIMEOUT_RANGE.max, "seconds");
    // Each route's target-group name and priority are the Fleet's to guarantee: buildFleet checks them.
  }
}
