/**
 * One application load balancer of the fleet: HTTPS with the security headers and a fixed 404 for
 * unknown hosts, HTTP that only redirects, and for each developer it serves a target group and a
 * host-header rule. The host's balancer registers the instance on each developer's port; an ECS
 * balancer's target groups take the tasks' addresses, which each developer's service registers.
 */
import type { Instance } from "@cdktf/provider-aws/lib/instance";
import { Lb } from "@cdktf/provider-aws/lib/lb";
import { LbListener } from "@cdktf/provider-aws/lib/lb-listener";
import { LbListenerRule } from "@cdktf/provider-aws/lib/lb-listener-rule";
import { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import { LbTargetGroupAttachment } from "@cdktf/provider-aws/lib/lb-target-group-attachment";
import type { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import type { Subnet } from "@cdktf/provider-aws/lib/subnet";
import type { Vpc } from "@cdktf/provider-aws/lib/vpc";
import type { IResolvable, ITerraformDependable } from "cdktf";
import type { Construct } from "constructs";
import { CONTAINER_PORT, developerConstructIds } from "../naming";
import { type Route, TARGET_GROUP_SETTINGS } from "../routing";

/**
 * Response headers the HTTPS listener adds. HSTS: browsers use HTTPS only for a year, for each
 * developer's host and any name below it (not its siblings). nosniff: browsers never guess a
 * response's type, so a file served as text is never run as script.
 */
export const SECURITY_HEADERS = {
  strictTransportSecurity: "max-age=31536000; includeSubDomains",
  contentTypeOptions: "nosniff",
  /**
   * Other sites may not frame the login or the workbench (clickjacking); code-server's webviews are
   * iframes of the developer's own origin, which DENY would break.
   */
  frameOptions: "SAMEORIGIN",
} as const;

/**
 * What a balancer's target groups hold: the host (`instance`), registered on each developer's
 * port by an attachment; or ECS tasks by address (`ip`) on code-server's own port.
 */
export type BalancerTargets = { readonly kind: "instance"; readonly instance: Instance } | { readonly kind: "ip" };

/** What every balancer of the fleet shares. */
export interface BalancerSettings {
  readonly vpc: Vpc;
  readonly subnets: readonly Subnet[];
  readonly securityGroup: SecurityGroup;
  readonly sslPolicy: string;
  readonly idleTimeoutSeconds: number;
  readonly deletionProtection: IResolvable | boolean;
  /** The access-log bucket, its prefix, and the bucket policy ELB checks before logging. */
  readonly accessLogs: { readonly bucket: string; readonly prefix: string; readonly policy: ITerraformDependable };
  /** The certificate's ARN, asked for once the load balancer exists (the host's resources keep their order). */
  readonly certificateArn: () => string;
}

export interface BalancerProps {
  /** The load balancer's name: ELB's 32 characters at most. */
  readonly name: string;
  /** The developers it serves. */
  readonly routes: readonly Route[];
  readonly targets: BalancerTargets;
  /**
   * Called after each developer's route is made, with the balancer (the edge adds the DNS record of
   * the balancer that serves the developer there, so each developer's resources stay together).
   * @default - nothing
   */
  readonly afterRoute?: (route: Route, balancer: Balancer) => void;
}

/** One load balancer, created in `scope` (the edge layer itself, or a shard of it). */
export class Balancer {
  readonly loadBalancer: Lb;
  readonly httpsListener: LbListener;
  /** Keyed by developer name. */
  readonly targetGroups = new Map<string, LbTargetGroup>();
  /** Each developer's host-header rule, keyed by developer name. */
  readonly listenerRules = new Map<string, LbListenerRule>();

  constructor(
    private readonly scope: Construct,
    private readonly settings: BalancerSettings,
    private readonly props: BalancerProps,
  ) {
    this.loadBalancer = this.createLoadBalancer();
    this.httpsListener = this.listeners(settings.certificateArn());
    for (const route of props.routes) {
      this.route(route);
      props.afterRoute?.(route, this);
    }
  }

  private createLoadBalancer(): Lb {
    const { settings } = this;
    return new Lb(this.scope, "load-balancer", {
      name: this.props.name,
      internal: false,
      loadBalancerType: "application",
      ipAddressType: "ipv4",
      securityGroups: [settings.securityGroup.id],
      subnets: settings.subnets.map((s) => s.id),
      dropInvalidHeaderFields: true,
      enableDeletionProtection: settings.deletionProtection,
      idleTimeout: settings.idleTimeoutSeconds,
      accessLogs: { bucket: settings.accessLogs.bucket, prefix: settings.accessLogs.prefix, enabled: true },
      // ELB checks it may write to the bucket when logging is switched on.
      dependsOn: [settings.accessLogs.policy],
    });
  }

  /** HTTPS with the security headers and a fixed 404 for unknown hosts, and HTTP that only redirects; the HTTPS one. */
  private listeners(certificateArn: string): LbListener {
    const https = new LbListener(this.scope, "https", {
      loadBalancerArn: this.loadBalancer.arn,
      port: 443,
      protocol: "HTTPS",
      sslPolicy: this.settings.sslPolicy,
      certificateArn,
      routingHttpResponseStrictTransportSecurityHeaderValue: SECURITY_HEADERS.strictTransportSecurity,
      routingHttpResponseXContentTypeOptionsHeaderValue: SECURITY_HEADERS.contentTypeOptions,
      routingHttpResponseXFrameOptionsHeaderValue: SECURITY_HEADERS.frameOptions,
      defaultAction: [
        {
          type: "fixed-response",
          fixedResponse: { statusCode: "404", contentType: "text/plain", messageBody: "No developer environment at this address." },
        },
      ],
    });
    new LbListener(this.scope, "http-redirect", {
      loadBalancerArn: this.loadBalancer.arn,
      port: 80,
      protocol: "HTTP",
      defaultAction: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
    });
    return https;
  }

  /** One developer's target group (with the host's attachment) and host-header rule. */
  private route(route: Route): void {
    const { targets } = this.props;
    const tags = { developer: route.developer };
    const ids = developerConstructIds({ name: route.developer }).alb;
    const onHost = targets.kind === "instance";
    const targetGroup = new LbTargetGroup(this.scope, ids.targetGroup, {
      // The host's target groups are named after their developer; a task's get a name from Terraform, so
      // that they never meet the host's while both platforms run, whatever the developer's name.
      ...(onHost ? { name: route.targetGroup } : {}),
      port: onHost ? route.port : CONTAINER_PORT,
      protocol: TARGET_GROUP_SETTINGS.protocol,
      targetType: targets.kind,
      vpcId: this.settings.vpc.id,
      deregistrationDelay: String(TARGET_GROUP_SETTINGS.deregistrationDelaySeconds),
      healthCheck: targetGroupHealthCheck(),
      stickiness: { enabled: true, type: "lb_cookie", cookieDuration: TARGET_GROUP_SETTINGS.stickinessSeconds },
      tags: onHost ? tags : { ...tags, Name: route.targetGroup },
      // A target group's port cannot change in place, and its name is fixed: a replacement would
      // fail, its rule still pointing at it. The port is only the default for targets registered
      // without one; the attachment below names the developer's port and the health check follows
      // it (traffic-port), so a new port replaces the attachment alone.
      lifecycle: { ignoreChanges: ["port"] },
    });
    if (targets.kind === "instance") {
      new LbTargetGroupAttachment(this.scope, ids.targetGroupAttachment, {
        targetGroupArn: targetGroup.arn,
        targetId: targets.instance.id,
        port: route.port,
      });
    }
    const rule = new LbListenerRule(this.scope, ids.listenerRule, {
      listenerArn: this.httpsListener.arn,
      priority: route.priority,
      condition: [{ hostHeader: { values: [route.host] } }],
      action: [{ type: "forward", targetGroupArn: targetGroup.arn }],
      tags,
    });
    this.targetGroups.set(route.developer, targetGroup);
    this.listenerRules.set(route.developer, rule);
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
