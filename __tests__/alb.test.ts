/**
 * AlbLayer: the internet-facing ALB and its access-log bucket (written by the ELB account in
 * older regions, by the log-delivery service in newer ones), TLS with a requested or an existing
 * certificate, HTTP that only redirects, and per developer a target group, host attachment,
 * host-header rule and DNS alias from the routing table.
 */
import { AcmCertificate } from "@cdktf/provider-aws/lib/acm-certificate";
import { AcmCertificateValidation } from "@cdktf/provider-aws/lib/acm-certificate-validation";
import { Lb } from "@cdktf/provider-aws/lib/lb";
import { LbListener } from "@cdktf/provider-aws/lib/lb-listener";
import { LbListenerRule } from "@cdktf/provider-aws/lib/lb-listener-rule";
import { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import { LbTargetGroupAttachment } from "@cdktf/provider-aws/lib/lb-target-group-attachment";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { TerraformVariable, Testing } from "cdktf";
import type { Construct } from "constructs";
import { AlbLayer, type AlbLayerProps, accessLogPrincipal } from "../src/constructs/alb";
import { routingTable } from "../src/routing";
import { defaultFleet, editedFleet } from "./helpers/fleet";
import { parseDocument } from "./helpers/hcl-object";
import { ACCOUNT, refToOnly, standIns, synthLayer } from "./helpers/layer";
import { only, resources } from "./helpers/synth";
import type { ProviderBlock } from "../src/terraform/plan-json";

const fleet = defaultFleet();
const ZONE = "Z0123456789ABCDEFGHIJ";
const EXISTING = `arn:aws:acm:ap-southeast-7:${ACCOUNT}:certificate/0a1b2c3d-0000-4000-8000-000000000000`;

function alb(scope: Construct, overrides: Partial<AlbLayerProps> = {}, region = fleet.region): AlbLayer {
  standIns.aws(scope, region);
  const vpc = new Vpc(scope, "vpc", { cidrBlock: "10.0.0.0/16" });
  return new AlbLayer(scope, "alb", {
    fleet: overrides.fleet ?? fleet,
    vpc,
    subnets: ["a", "b"].map((zone) => new Subnet(scope, `subnet-${zone}`, { vpcId: vpc.id, cidrBlock: "10.0.0.0/24" })),
    securityGroup: new SecurityGroup(scope, "sg", {}),
    host: standIns.instance(scope),
    hostedZoneId: ZONE,
    ...overrides,
  });
}

let layer!: AlbLayer;
const { json, config } = synthLayer((scope) => {
  layer = alb(scope);
});
const lbRef = (attribute: string) => refToOnly(config, "aws_lb", attribute);
const listenerRef = (port: number, attribute: string) => {
  const [name] = resources(config, "aws_lb_listener").find(([, l]) => l.port === port) ?? [];
  return `\${aws_lb_listener.${name}.${attribute}}`;
};
const logBucketPolicy = () => parseDocument(only(config, "aws_s3_bucket_policy").policy as string).Statement as ProviderBlock[];

describe("load balancer", () => {
  it("is internet-facing over the given subnets, drops invalid headers, is deletion-protected and logs to its bucket", () => {
    expect(json).toHaveResourceWithProperties(Lb, {
      name: "code-server-dev",
      internal: false,
      load_balancer_type: "application",
      drop_invalid_header_fields: true,
      enable_deletion_protection: true,
      subnets: ["a", "b"].map(() => expect.stringMatching(/^\$\{aws_subnet\..*\.id\}$/)),
      access_logs: { bucket: refToOnly(config, "aws_s3_bucket", "id"), prefix: "alb", enabled: true },
    });
  });

  it("keeps idle websockets open for an hour", () => {
    expect(json).toHaveResourceWithProperties(Lb, { idle_timeout: 3600 });
  });

  it("logs to an SSE-S3 bucket (ALB logs cannot use KMS) whose objects expire after 90 days", () => {
    expect(json).toHaveResourceWithProperties(S3BucketServerSideEncryptionConfigurationA, {
      rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } }],
    });
    const [rule, abort] = only(config, "aws_s3_bucket_lifecycle_configuration").rule as ProviderBlock[];
    expect(rule).toMatchObject({
      filter: [{ prefix: "alb/" }],
      expiration: [{ days: 90 }],
      noncurrent_version_expiration: [{ noncurrent_days: 7 }],
    });
    // ELB writes small objects; an upload still open after a day is not coming back.
    expect(abort.abort_incomplete_multipart_upload).toEqual([{ days_after_initiation: 1 }]);
  });

  it("lets the log-delivery service write this account's logs in a region opened after August 2022", () => {
    expect(logBucketPolicy()[1]).toEqual({
      Sid: "AlbWritesAccessLogs",
      Effect: "Allow",
      Principal: { Service: "logdelivery.elasticloadbalancing.amazonaws.com" },
      Action: "s3:PutObject",
      Resource: `${refToOnly(config, "aws_s3_bucket", "arn")}/alb/AWSLogs/${ACCOUNT}/*`,
    });
  });

  it("lets the region's ELB account write them in an older region", () => {
    const singapore = editedFleet((r) => {
      r.region = "ap-southeast-1";
      r.availabilityZones = ["ap-southeast-1a", "ap-southeast-1b"];
    });
    const { config: older } = synthLayer((scope) => alb(scope, { fleet: singapore }, "ap-southeast-1"));
    const statement = (parseDocument(only(older, "aws_s3_bucket_policy").policy as string).Statement as ProviderBlock[])[1];
    expect(statement.Principal).toEqual({ AWS: "arn:aws:iam::114774131450:root" });
    expect(accessLogPrincipal("us-gov-west-1")).toEqual({ AWS: "arn:aws-us-gov:iam::048591011584:root" });
  });
});

describe("listeners and certificate", () => {
  it("serves HTTPS with the default TLS 1.3 policy, a validated certificate and a fixed 404 for unknown hosts", () => {
    expect(json).toHaveResourceWithProperties(LbListener, {
      port: 443,
      protocol: "HTTPS",
      load_balancer_arn: lbRef("arn"),
      ssl_policy: "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
      certificate_arn: refToOnly(config, "aws_acm_certificate_validation", "certificate_arn"),
      default_action: [
        { type: "fixed-response", fixed_response: { status_code: "404", content_type: "text/plain", message_body: expect.any(String) } },
      ],
    });
  });

  it("adds HSTS (a year, subdomains), X-Content-Type-Options: nosniff and X-Frame-Options: SAMEORIGIN to every HTTPS response", () => {
    expect(json).toHaveResourceWithProperties(LbListener, {
      port: 443,
      routing_http_response_strict_transport_security_header_value: "max-age=31536000; includeSubDomains",
      routing_http_response_x_content_type_options_header_value: "nosniff",
      routing_http_response_x_frame_options_header_value: "SAMEORIGIN",
    });
  });

  it("answers HTTP on 80 only with a 301 to HTTPS", () => {
    expect(json).toHaveResourceWithProperties(LbListener, {
      port: 80,
      protocol: "HTTP",
      default_action: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", status_code: "HTTP_301" } }],
    });
  });

  it("requests *.<domain> and <domain> from ACM and validates them with one record in the hosted zone", () => {
    expect(json).toHaveResourceWithProperties(AcmCertificate, {
      domain_name: "*.dev.example.com",
      subject_alternative_names: ["dev.example.com"],
      validation_method: "DNS",
      lifecycle: { create_before_destroy: true },
    });
    const certificate = refToOnly(config, "aws_acm_certificate", "domain_validation_options").slice(2, -1);
    expect(json).toHaveResourceWithProperties(Route53Record, {
      zone_id: ZONE,
      name: `\${tolist(${certificate})[0].resource_record_name}`,
      allow_overwrite: true,
    });
    expect(json).toHaveResourceWithProperties(AcmCertificateValidation, {
      certificate_arn: refToOnly(config, "aws_acm_certificate", "arn"),
    });
  });

  it("uses an existing certificate as it is, requesting none", () => {
    const { json: existing } = synthLayer((scope) => alb(scope, { certificateArn: EXISTING }));
    expect(existing).toHaveResourceWithProperties(LbListener, { port: 443, certificate_arn: EXISTING });
    expect(existing).not.toHaveResource(AcmCertificate);
    expect(existing).not.toHaveResource(AcmCertificateValidation);
  });

  it("requests one only when the certificate_arn variable is empty", () => {
    const { json: planned } = synthLayer((scope) =>
      alb(scope, { certificateArn: new TerraformVariable(scope, "certificate-arn", { type: "string" }).stringValue }),
    );
    const whenEmpty = '${(var.certificate-arn == "") ? 1 : 0}';
    for (const type of [AcmCertificate, AcmCertificateValidation, Route53Record]) {
      expect(planned).toHaveResourceWithProperties(type, { count: whenEmpty });
    }
    expect(planned).toHaveResourceWithProperties(LbListener, {
      port: 443,
      certificate_arn: expect.stringMatching(
        /^\$\{\(var\.certificate-arn == ""\) \? one\(aws_acm_certificate_validation\..*\[\*\]\.certificate_arn\) : var\.certificate-arn\}$/,
      ),
    });
  });
});

describe("per-developer routing", () => {
  const routes = routingTable(fleet);

  it("routes <name>.<domain> to the developer's target group on their port, at the priority of their slot", () => {
    for (const route of routes) {
      const targetGroup = layer.targetGroups.get(route.developer)!;
      expect(json).toHaveResourceWithProperties(LbTargetGroup, {
        name: route.targetGroup,
        port: route.port,
        protocol: "HTTP",
        target_type: "instance",
        vpc_id: refToOnly(config, "aws_vpc", "id"),
        tags: { developer: route.developer },
      });
      expect(json).toHaveResourceWithProperties(LbListenerRule, {
        listener_arn: listenerRef(443, "arn"),
        priority: route.priority,
        condition: [{ host_header: { values: [route.host] } }],
        action: [{ type: "forward", target_group_arn: `\${aws_lb_target_group.${targetGroup.friendlyUniqueId}.arn}` }],
      });
      expect(json).toHaveResourceWithProperties(LbTargetGroupAttachment, {
        target_group_arn: `\${aws_lb_target_group.${targetGroup.friendlyUniqueId}.arn}`,
        target_id: refToOnly(config, "aws_instance", "id"),
        port: route.port,
      });
      expect(json).toHaveResourceWithProperties(Route53Record, {
        zone_id: ZONE,
        name: route.host,
        type: "A",
        alias: { name: lbRef("dns_name"), zone_id: lbRef("zone_id"), evaluate_target_health: true },
      });
    }
    expect([...layer.targetGroups.keys()]).toEqual(fleet.developers.map((d) => d.name));
    expect(json).toHaveResourceWithProperties(LbTargetGroup, { name: "code-server-dev-dev1", port: 8443 });
    expect(resources(config, "aws_lb_listener_rule")).toHaveLength(fleet.developers.length);
  });

  it("checks /healthz (200) every 30 s, 2 healthy / 3 unhealthy, 5 s timeout; sticky for 1 h; 30 s deregistration", () => {
    for (const [, targetGroup] of resources(config, "aws_lb_target_group")) {
      expect(targetGroup.health_check).toEqual({
        enabled: true,
        protocol: "HTTP",
        port: "traffic-port",
        path: "/healthz",
        matcher: "200",
        interval: 30,
        timeout: 5,
        healthy_threshold: 2,
        unhealthy_threshold: 3,
      });
      expect(targetGroup.stickiness).toEqual({ enabled: true, type: "lb_cookie", cookie_duration: 3600 });
      expect(targetGroup.deregistration_delay).toBe("30");
    }
  });
});

describe("props validation", () => {
  test.each<[string, Partial<AlbLayerProps>, RegExp]>([
    [
      "a name longer than 32 characters",
      { fleet: { ...fleet, namePrefix: "a".repeat(33) } },
      /^AlbLayer stack\/alb: load balancer name \(fleet\.namePrefix\) "a{33}" is 33 characters; the limit is 32 \(ELB's limit\)$/,
    ],
    [
      "a name ELB reserves",
      { fleet: { ...fleet, namePrefix: "internal-dev" } },
      /^AlbLayer stack\/alb: load balancer name \(fleet\.namePrefix\) "internal-dev" is not letters, digits and inner '-', not starting with 'internal-' \(ELB naming\)$/,
    ],
    [
      "fewer than two subnets",
      { subnets: [] },
      /^AlbLayer stack\/alb: subnets has 0 entries; at least 2 are needed \(an ALB spans at least two availability zones\)$/,
    ],
    [
      "a certificate that is not an ACM ARN",
      { certificateArn: "*.dev.example.com" },
      /^AlbLayer stack\/alb: certificateArn "\*\.dev\.example\.com" is not an ACM certificate ARN, or "" to request one$/,
    ],
    [
      "the legacy TLS 1.2 policy",
      { sslPolicy: "ELBSecurityPolicy-TLS-1-2-2017-01" },
      /^AlbLayer stack\/alb: sslPolicy "ELBSecurityPolicy-TLS-1-2-2017-01" is not one of "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09", /,
    ],
    [
      "an idle timeout above 4000 s",
      { idleTimeoutSeconds: 4001 },
      /^AlbLayer stack\/alb: idleTimeoutSeconds 4001 must be a whole number of seconds from 1 to 4000$/,
    ],
  ])("refuses %s", (_, overrides, message) => {
    expect(() => Testing.synthScope((scope) => alb(scope, overrides))).toThrow(message);
  });
});
