/**
 * ALB, TLS and DNS; monitoring and alerting; backup (issue 4): named assertions on the
 * synthesized stack of the default roster. One synth for the whole file.
 */
import { ALLOWED_SSL_POLICIES, DEFAULT_SSL_POLICY } from "../src/modules/inputs";
import { routingTable } from "../src/routing";
import { THRESHOLDS } from "../src/thresholds";
import { defaultFleet } from "./helpers/fleet";
import { byPath, type Config, forDeveloper, only, parseJsonencode, refTo, resources, synthStack } from "./helpers/synth";

const fleet = defaultFleet();
const config = synthStack(fleet);
const topic = refTo(config, "aws_sns_topic", "notifications/alarms", "arn");
const keyArn = refTo(config, "aws_kms_key", "secrets/key", "arn");

describe("load balancer", () => {
  const alb = only(config, "aws_lb");

  it("is internet-facing over all public subnets, drops invalid headers, has deletion protection and logs to S3", () => {
    expect(alb).toMatchObject({
      internal: false,
      load_balancer_type: "application",
      drop_invalid_header_fields: true,
      enable_deletion_protection: "${var.alb_deletion_protection}",
      access_logs: { bucket: refTo(config, "aws_s3_bucket", "alb/access-logs/bucket", "id"), prefix: "alb", enabled: true },
    });
    expect(alb.subnets).toHaveLength(2);
    expect(config.variable.alb_deletion_protection.default).toBe(true);
  });

  it("keeps idle websockets open for an hour", () => {
    expect(alb.idle_timeout).toBe(3600);
  });

  it("locks the access-log bucket down: SSE-S3, all public access blocked, versioned, expiring, TLS only, written by the log-delivery principal", () => {
    const bucket = "alb/access-logs";
    expect(byPath(config, "aws_s3_bucket_server_side_encryption_configuration", `${bucket}/encryption`).rule).toEqual([
      { apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } },
    ]);
    expect(byPath(config, "aws_s3_bucket_public_access_block", `${bucket}/public-access`)).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(byPath(config, "aws_s3_bucket_versioning", `${bucket}/versioning`).versioning_configuration.status).toBe("Enabled");
    expect(byPath(config, "aws_s3_bucket_lifecycle_configuration", `${bucket}/lifecycle`).rule[0].expiration).toEqual([{ days: 90 }]);
    const policy = parseJsonencode(byPath(config, "aws_s3_bucket_policy", `${bucket}/policy`).policy);
    expect(policy.Statement[0]).toMatchObject({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } });
    expect(policy.Statement[1]).toMatchObject({
      Principal: { Service: "logdelivery.elasticloadbalancing.amazonaws.com" },
      Action: "s3:PutObject",
      Resource: expect.stringMatching(/\/alb\/AWSLogs\/\$\{element\(split\(":", aws_kms_key\..*\), 4\)\}\/\*$/),
    });
    expect(byPath(config, "aws_s3_bucket", `${bucket}/bucket`).force_destroy).toBe(false);
  });

  it("serves HTTPS with the TLS policy variable, an allow-listed TLS 1.3 default, and a fixed 404 for unknown hosts", () => {
    const https = byPath(config, "aws_lb_listener", "alb/https");
    expect(https).toMatchObject({ port: 443, protocol: "HTTPS", ssl_policy: "${var.ssl_policy}" });
    expect(https.default_action).toEqual([
      { type: "fixed-response", fixed_response: { status_code: "404", content_type: "text/plain", message_body: expect.any(String) } },
    ]);
    expect(config.variable.ssl_policy.default).toBe(DEFAULT_SSL_POLICY);
    expect(DEFAULT_SSL_POLICY).toBe("ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09");
    expect(config.variable.ssl_policy.validation[0].condition).toBe(
      `\${contains(${JSON.stringify(ALLOWED_SSL_POLICIES)}, var.ssl_policy)}`,
    );
    expect(ALLOWED_SSL_POLICIES.every((p) => p.startsWith("ELBSecurityPolicy-TLS13-"))).toBe(true);
  });

  it("answers HTTP on 80 only with a 301 to HTTPS", () => {
    const http = byPath(config, "aws_lb_listener", "alb/http-redirect");
    expect(http).toMatchObject({ port: 80, protocol: "HTTP" });
    expect(http.default_action).toEqual([{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", status_code: "HTTP_301" } }]);
  });

  it("requests *.<domain> and <domain> from ACM, validated in the hosted zone, unless a certificate ARN is given", () => {
    const certificate = only(config, "aws_acm_certificate");
    expect(certificate).toMatchObject({
      domain_name: "*.dev.example.com",
      subject_alternative_names: ["dev.example.com"],
      validation_method: "DNS",
    });
    const whenNoArn = '${(var.certificate_arn == "") ? 1 : 0}';
    expect(certificate.count).toBe(whenNoArn);
    expect(only(config, "aws_acm_certificate_validation").count).toBe(whenNoArn);
    const record = byPath(config, "aws_route53_record", "alb/certificate-validation-record");
    expect(record).toMatchObject({ count: whenNoArn, zone_id: "${var.hosted_zone_id}", allow_overwrite: true });
    expect(byPath(config, "aws_lb_listener", "alb/https").certificate_arn).toMatch(
      /^\$\{\(var\.certificate_arn == ""\) \? one\(aws_acm_certificate_validation\..*\[\*\]\.certificate_arn\) : var\.certificate_arn\}$/,
    );
  });
});

describe("per-developer routing", () => {
  const routes = routingTable(fleet);

  it("gives every developer exactly one target group, listener rule and DNS name", () => {
    for (const d of fleet.developers) {
      expect(forDeveloper(config, "aws_lb_target_group", d.name)).toHaveLength(1);
      expect(forDeveloper(config, "aws_lb_listener_rule", d.name)).toHaveLength(1);
      expect(resources(config, "aws_route53_record").filter(([, r]) => r.name === d.hostname)).toHaveLength(1);
    }
    expect(resources(config, "aws_lb_target_group")).toHaveLength(fleet.developers.length);
  });

  it("routes <name>.<domain> to the developer's target group on their port, with the priority of their slot", () => {
    for (const route of routes) {
      const [tg] = forDeveloper(config, "aws_lb_target_group", route.developer);
      const [rule] = forDeveloper(config, "aws_lb_listener_rule", route.developer);
      expect(tg).toMatchObject({ name: `code-server-dev-${route.developer}`, port: route.port, protocol: "HTTP", target_type: "instance" });
      expect(rule.condition).toEqual([{ host_header: { values: [route.host] } }]);
      expect(rule.priority).toBe(route.port);
      expect(rule.listener_arn).toBe(refTo(config, "aws_lb_listener", "alb/https", "arn"));
    }
    const priorities = resources(config, "aws_lb_listener_rule").map(([, r]) => r.priority);
    expect(new Set(priorities).size).toBe(priorities.length);
  });

  it("checks health on /healthz (200) every 30 s, 2 healthy / 3 unhealthy, 5 s timeout; sticky for 1 h; 30 s deregistration", () => {
    for (const [, tg] of resources(config, "aws_lb_target_group")) {
      expect(tg.health_check).toEqual({
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
      expect(tg.stickiness).toEqual({ enabled: true, type: "lb_cookie", cookie_duration: 3600 });
      expect(tg.deregistration_delay).toBe("30");
    }
  });

  it("attaches the host to every target group on the developer's port and aliases every name to the ALB", () => {
    const attachments = resources(config, "aws_lb_target_group_attachment").map(([, a]) => a);
    expect(attachments.map((a) => a.port).sort()).toEqual(fleet.developers.map((d) => d.port));
    for (const a of attachments) expect(a.target_id).toBe(refTo(config, "aws_instance", "compute/host", "id"));
    for (const d of fleet.developers) {
      const [, record] = resources(config, "aws_route53_record").find(([, r]) => r.name === d.hostname)!;
      expect(record).toMatchObject({
        type: "A",
        zone_id: "${var.hosted_zone_id}",
        alias: { name: refTo(config, "aws_lb", "alb/alb", "dns_name"), evaluate_target_health: true },
      });
    }
  });
});

describe("monitoring", () => {
  const alarms = new Map(resources(config, "aws_cloudwatch_metric_alarm").map(([, a]) => [a.alarm_name as string, a]));
  const alarm = (name: string) => {
    const found = alarms.get(`code-server-dev-${name}`);
    if (!found) throw new Error(`no alarm ${name}`);
    return found;
  };

  it("creates the spec's log groups with retention from the variable and the fleet key", () => {
    const groups = resources(config, "aws_cloudwatch_log_group").map(([, g]) => g);
    expect(groups.map((g) => g.name).sort()).toEqual(
      [
        "/aws/ec2/code-server/system",
        "/aws/ec2/code-server/docker",
        ...fleet.developers.map((d) => `/aws/ec2/code-server/containers/${d.name}`),
      ].sort(),
    );
    // CloudWatch Logs must be allowed to use the key before a group can be created with it.
    const keyPolicy = refTo(config, "aws_kms_key_policy", "key-policy/policy", "id").slice(2, -4);
    for (const g of groups) {
      expect(g).toMatchObject({
        retention_in_days: "${var.log_retention_days}",
        kms_key_id: keyArn,
        skip_destroy: true,
        depends_on: [keyPolicy],
      });
    }
    expect(config.variable.log_retention_days.default).toBe(30);
  });

  it("alarms on host CPU > 80 %, memory > 85 % and data disk > 85 %", () => {
    expect(alarm("host-cpu")).toMatchObject({
      namespace: "AWS/EC2",
      metric_name: "CPUUtilization",
      threshold: 80,
      comparison_operator: "GreaterThanThreshold",
    });
    expect(alarm("host-memory")).toMatchObject({ namespace: "code-server/dev", metric_name: "mem_used_percent", threshold: 85 });
    expect(alarm("data-disk")).toMatchObject({
      namespace: "code-server/dev",
      metric_name: "disk_used_percent",
      threshold: 85,
      dimensions: { path: "/mnt/ebs-data" },
    });
    expect([THRESHOLDS.hostCpuPercent, THRESHOLDS.hostMemoryPercent, THRESHOLDS.dataDiskPercent]).toEqual([80, 85, 85]);
  });

  it("alarms on more than 10 ALB 5xx (ELB + targets) in 5 minutes", () => {
    const a = alarm("alb-5xx");
    expect(a.threshold).toBe(10);
    expect(a.metric_query.map((q: Config) => q.metric?.metric_name ?? q.expression)).toEqual([
      "HTTPCode_ELB_5XX_Count",
      "HTTPCode_Target_5XX_Count",
      "FILL(elb, 0) + FILL(target, 0)",
    ]);
    expect(a.metric_query[0].metric).toMatchObject({ period: 300, stat: "Sum" });
  });

  it("alarms per developer on unhealthy targets and container restarts", () => {
    for (const d of fleet.developers) {
      expect(alarm(`${d.name}-unhealthy`)).toMatchObject({
        metric_name: "UnHealthyHostCount",
        threshold: 0,
        comparison_operator: "GreaterThanThreshold",
      });
      expect(alarm(`${d.name}-unhealthy`).dimensions.TargetGroup).toBe(
        refTo(config, "aws_lb_target_group", `alb/tg-${d.name}`, "arn_suffix"),
      );
      expect(alarm(`${d.name}-restarts`)).toMatchObject({
        namespace: "code-server/dev/containers",
        metric_name: "ContainerRestarts",
        dimensions: { Developer: d.name },
      });
    }
  });

  it("sends every alarm to the one KMS-encrypted topic, which e-mails the operators", () => {
    for (const [name, a] of alarms) expect([name, a.alarm_actions.includes(topic)]).toEqual([name, true]);
    expect(only(config, "aws_sns_topic").kms_master_key_id).toBe(keyArn);
    expect(only(config, "aws_sns_topic_subscription")).toMatchObject({
      for_each: "${toset(var.alarm_emails)}",
      protocol: "email",
      endpoint: "${each.value}",
    });
    expect(alarms.size).toBe(4 + 2 * fleet.developers.length + 1);
  });

  it("has a dashboard of host, target health, response times and ALB traffic", () => {
    const body = parseJsonencode(only(config, "aws_cloudwatch_dashboard").dashboard_body);
    expect(body.widgets.map((w: Config) => w.properties.title)).toEqual([
      "Host CPU / memory / data disk (%)",
      "ALB requests and 5xx",
      "Healthy targets per developer",
      "Target response time per developer (s)",
      "Container memory per developer (%)",
      "Container CPU per developer (%)",
    ]);
    expect(body.widgets[2].properties.metrics).toHaveLength(fleet.developers.length);
  });

  it("budgets the month at the variable's amount (400 USD) with notifications at 80, 100 and 120 %", () => {
    const budget = only(config, "aws_budgets_budget");
    expect(budget).toMatchObject({
      budget_type: "COST",
      time_unit: "MONTHLY",
      limit_amount: "${var.budget_amount_usd}",
      limit_unit: "USD",
    });
    expect(budget.notification.map((n: Config) => n.threshold)).toEqual([80, 100, 120]);
    for (const n of budget.notification) expect(n.subscriber_email_addresses).toBe("${var.alarm_emails}");
    expect(config.variable.budget_amount_usd.default).toBe(400);
  });

  it("reminds the operators every 90 days to rotate keys and passwords", () => {
    expect(only(config, "aws_cloudwatch_event_rule").schedule_expression).toBe("rate(90 days)");
    expect(only(config, "aws_cloudwatch_event_target").arn).toBe(topic);
    expect(() => JSON.parse(only(config, "aws_cloudwatch_event_target").input)).not.toThrow();
  });
});

describe("backup", () => {
  it("snapshots the data volume daily at 02:00 UTC keeping 7 daily, 4 weekly and 3 monthly", () => {
    const plan = only(config, "aws_backup_plan");
    expect(plan.rule.map((r: Config) => [r.rule_name, r.schedule, r.lifecycle.delete_after])).toEqual([
      ["daily", "cron(0 2 * * ? *)", 7],
      ["weekly", "cron(0 2 ? * SUN *)", 28],
      ["monthly", "cron(0 2 1 * ? *)", 90],
    ]);
    for (const r of plan.rule) expect(r.schedule_expression_timezone).toBe("Etc/UTC");
    expect(only(config, "aws_backup_selection").resources).toEqual([refTo(config, "aws_ebs_volume", "compute/data", "arn")]);
    expect(only(config, "aws_backup_vault")).toMatchObject({ kms_key_arn: keyArn, force_destroy: false });
  });

  it("keeps removed workspaces in a versioned, KMS-encrypted, private archive bucket that moves them to Glacier and never expires them", () => {
    const bucket = "backup/archive";
    expect(byPath(config, "aws_s3_bucket", `${bucket}/bucket`).lifecycle).toEqual({ prevent_destroy: true });
    expect(byPath(config, "aws_s3_bucket_versioning", `${bucket}/versioning`).versioning_configuration.status).toBe("Enabled");
    expect(
      byPath(config, "aws_s3_bucket_server_side_encryption_configuration", `${bucket}/encryption`).rule[0]
        .apply_server_side_encryption_by_default,
    ).toEqual({
      sse_algorithm: "aws:kms",
      kms_master_key_id: keyArn,
    });
    const rule = byPath(config, "aws_s3_bucket_lifecycle_configuration", `${bucket}/lifecycle`).rule[0];
    expect(rule.transition).toEqual([{ days: 30, storage_class: "GLACIER" }]);
    expect(rule.expiration).toBeUndefined();
    expect(byPath(config, "aws_s3_bucket_public_access_block", `${bucket}/public-access`).restrict_public_buckets).toBe(true);
  });
});

describe("outputs", () => {
  it("describes every output and gives each developer's URL", () => {
    for (const [name, o] of Object.entries<Config>(config.output)) expect([name, typeof o.description]).toEqual([name, "string"]);
    expect(config.output.developer_urls.value.dev1).toBe("https://dev1.dev.example.com");
    expect(Object.keys(config.output)).toEqual(expect.arrayContaining(["alb_dns_name", "instance_id", "secret_names", "data_volume_id"]));
  });
});
