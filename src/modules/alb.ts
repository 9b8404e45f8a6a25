/**
 * ALB layer: the internet-facing load balancer and its access-log bucket, the TLS certificate
 * (requested and DNS-validated, or an existing one by ARN), HTTPS with a fixed 404 default,
 * HTTP that only redirects, and per developer a target group, its attachment to the host, a
 * host-header listener rule and a DNS alias — all built from `routingTable(fleet)`.
 */
import { AcmCertificate } from "@cdktf/provider-aws/lib/acm-certificate";
import { AcmCertificateValidation } from "@cdktf/provider-aws/lib/acm-certificate-validation";
import type { Instance } from "@cdktf/provider-aws/lib/instance";
import { Lb } from "@cdktf/provider-aws/lib/lb";
import { LbListener } from "@cdktf/provider-aws/lib/lb-listener";
import { LbListenerRule } from "@cdktf/provider-aws/lib/lb-listener-rule";
import { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import { LbTargetGroupAttachment } from "@cdktf/provider-aws/lib/lb-target-group-attachment";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";
import type { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import type { Subnet } from "@cdktf/provider-aws/lib/subnet";
import type { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { type IResolvable, Token } from "cdktf";
import { Construct } from "constructs";
import { developerConstructIds } from "../naming";
import type { Fleet } from "../roster";
import { type Route, TARGET_GROUP_SETTINGS, routingTable } from "../routing";
import { AwsEnvironment, formatArn, partitionOf } from "./aws-environment";
import { address, choose, countWhen, expression, first, isEmptyString, oneOf } from "./expressions";
import { ACM_CERTIFICATE_ARN, ALLOWED_SSL_POLICIES, DEFAULT_SSL_POLICY } from "./inputs";
import { PrivateBucket, type ServerAccessLogTarget } from "./private-bucket";
import { checkMaxLength, checkMinCount, checkOneOf, checkPattern, checkWholeRange } from "./validation";

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
  /** The roster: the ALB is named `<project>-<environment>`; one route per developer (`routingTable`). */
  readonly fleet: Fleet;
  /** The VPC of the target groups. */
  readonly vpc: Vpc;
  /** Public subnets the ALB spans, in two zones at least. */
  readonly subnets: readonly Subnet[];
  /** The ALB's security group. */
  readonly securityGroup: SecurityGroup;
  /** The host every target group sends to. */
  readonly instance: Instance;
  /** Route53 hosted zone id of the roster's domain: certificate validation and developer records. */
  readonly hostedZoneId: string;
  /**
   * ARN of an existing ACM certificate covering `*.<domain>`, or empty to request one and
   * validate it through DNS.
   * @default "" (request one)
   */
  readonly certificateArn?: string;
  /**
   * TLS policy of the HTTPS listener, one of `ALLOWED_SSL_POLICIES` (TLS 1.3 policies only).
   * @default "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
   */
  readonly sslPolicy?: string;
  /**
   * Deletion protection on the ALB.
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
 * Response headers the HTTPS listener adds. HSTS: browsers use HTTPS only for a year, for each
 * developer's host and any name below it (not its siblings). nosniff: browsers never guess a
 * response's type, so a file served as text is never run as script.
 */
export const SECURITY_HEADERS = {
  strictTransportSecurity: "max-age=31536000; includeSubDomains",
  contentTypeOptions: "nosniff",
} as const;

export class AlbLayer extends Construct {
  readonly loadBalancer: Lb;
  readonly httpsListener: LbListener;
  readonly accessLogs: PrivateBucket;
  /** Keyed by developer name. */
  readonly targetGroups: ReadonlyMap<string, LbTargetGroup>;

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
    this.loadBalancer = this.createLoadBalancer(idleTimeoutSeconds);
    this.httpsListener = this.listeners(this.listenerCertificate(certificateArn), sslPolicy);
    this.targetGroups = new Map(routingTable(props.fleet).map((route) => [route.developer, this.route(route)]));
  }

  /** The private bucket the ALB writes its access logs to, kept ACCESS_LOG_RETENTION_DAYS. */
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

  private createLoadBalancer(idleTimeoutSeconds: number): Lb {
    const { props } = this;
    return new Lb(this, "load-balancer", {
      name: props.fleet.namePrefix,
      internal: false,
      loadBalancerType: "application",
      ipAddressType: "ipv4",
      securityGroups: [props.securityGroup.id],
      subnets: props.subnets.map((s) => s.id),
      dropInvalidHeaderFields: true,
      enableDeletionProtection: props.deletionProtection ?? true,
      idleTimeout: idleTimeoutSeconds,
      accessLogs: { bucket: this.accessLogs.bucket.id, prefix: ACCESS_LOG_PREFIX, enabled: true },
      // ELB checks it may write to the bucket when logging is switched on.
      dependsOn: [this.accessLogs.policy],
    });
  }

  /** The HTTPS listener's certificate: `certificateArn`, or one requested and validated when it is empty. */
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

  /** HTTPS with the security headers and a fixed 404 for unknown hosts, and HTTP that only redirects; the HTTPS one. */
  private listeners(certificateArn: string, sslPolicy: string): LbListener {
    const https = new LbListener(this, "https", {
      loadBalancerArn: this.loadBalancer.arn,
      port: 443,
      protocol: "HTTPS",
      sslPolicy,
      certificateArn,
      routingHttpResponseStrictTransportSecurityHeaderValue: SECURITY_HEADERS.strictTransportSecurity,
      routingHttpResponseXContentTypeOptionsHeaderValue: SECURITY_HEADERS.contentTypeOptions,
      defaultAction: [
        {
          type: "fixed-response",
          fixedResponse: { statusCode: "404", contentType: "text/plain", messageBody: "No developer environment at this address." },
        },
      ],
    });
    new LbListener(this, "http-redirect", {
      loadBalancerArn: this.loadBalancer.arn,
      port: 80,
      protocol: "HTTP",
      defaultAction: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
    });
    return https;
  }

  /** One developer's route: a target group on the host, its attachment, a host-header rule and a DNS alias. */
  private route(route: Route): LbTargetGroup {
    const { props } = this;
    const tags = { developer: route.developer };
    const ids = developerConstructIds({ name: route.developer }).alb;
    const targetGroup = new LbTargetGroup(this, ids.targetGroup, {
      name: route.targetGroup,
      port: route.port,
      protocol: TARGET_GROUP_SETTINGS.protocol,
      targetType: "instance",
      vpcId: props.vpc.id,
      deregistrationDelay: String(TARGET_GROUP_SETTINGS.deregistrationDelaySeconds),
      healthCheck: targetGroupHealthCheck(),
      stickiness: { enabled: true, type: "lb_cookie", cookieDuration: TARGET_GROUP_SETTINGS.stickinessSeconds },
      tags,
      // A target group's port cannot change in place, and its name is fixed: a replacement would
      // fail, its rule still pointing at it. The port is only the default for targets registered
      // without one; the attachment below names the developer's port and the health check follows
      // it (traffic-port), so a new port replaces the attachment alone.
      lifecycle: { ignoreChanges: ["port"] },
    });
    new LbTargetGroupAttachment(this, ids.targetGroupAttachment, {
      targetGroupArn: targetGroup.arn,
      targetId: props.instance.id,
      port: route.port,
    });
    new LbListenerRule(this, ids.listenerRule, {
      listenerArn: this.httpsListener.arn,
      priority: route.priority,
      condition: [{ hostHeader: { values: [route.host] } }],
      action: [{ type: "forward", targetGroupArn: targetGroup.arn }],
      tags,
    });
    new Route53Record(this, ids.dnsRecord, {
      zoneId: props.hostedZoneId,
      name: route.host,
      type: "A",
      alias: { name: this.loadBalancer.dnsName, zoneId: this.loadBalancer.zoneId, evaluateTargetHealth: true },
    });
    return targetGroup;
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
    const name = props.fleet.namePrefix;
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

/** Every target group's health check: `/healthz` on the port the target is registered with. */
function targetGroupHealthCheck() {
  const healthCheck = TARGET_GROUP_SETTINGS.healthCheck;
  return {
    enabled: true,
    protocol: TARGET_GROUP_SETTINGS.protocol,
    port: "traffic-port",
    path: healthCheck.path,
    matcher: healthCheck.matcher,
    interval: healthCheck.intervalSeconds,
    timeout: healthCheck.timeoutSeconds,
    healthyThreshold: healthCheck.healthyThreshold,
    unhealthyThreshold: healthCheck.unhealthyThreshold,
  };
}
