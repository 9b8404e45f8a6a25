/**
 * AWS caps the size of every policy document, and refuses at apply time what an offline plan
 * accepts. A document that names every developer grows with the roster until a large team's
 * deploy fails half-way: each one is measured here on the largest rosters each platform takes,
 * with every reference counted at the length of a long real ARN.
 */
import { parse, stringify } from "yaml";
import { parseRoster } from "../src/roster";
import type { TerraformJson } from "../src/terraform/plan-json";
import { withOidc } from "./helpers/ecs-oidc";
import { generatedRosterText } from "./helpers/fleet";
import { parseDocument, resources, synthStack } from "./helpers/synth";

/** A secret's ARN in the longest region name, with a long developer name: longer than most references. */
const REFERENCE_LENGTH = 110;

/** AWS's limits, in characters not counting white space (IAM's rule; the others count less or the same). */
const LIMITS = {
  /** All inline policies of one IAM role, together. */
  roleInline: 10_240,
  managedPolicy: 6_144,
  assumeRolePolicy: 2_048,
  fileSystemPolicy: 20_000,
  keyPolicy: 32_768,
  bucketPolicy: 20_480,
  topicPolicy: 30_720,
  secretPolicy: 20_480,
  logResourcePolicy: 5_120,
  eventPattern: 4_096,
  /** A dashboard's widgets, and the metrics one graph may plot. */
  dashboardWidgets: 500,
  metricsPerGraph: 500,
} as const;

/** A document's size as AWS counts it once every reference is an ARN REFERENCE_LENGTH long. */
function sizeOf(document: string): number {
  const parsed = document.startsWith("${jsonencode(") || document.startsWith("{") ? parseDocument(document) : document;
  return JSON.stringify(parsed)
    .replace(/\$\{[^}]*\}/g, "x".repeat(REFERENCE_LENGTH))
    .replace(/\s/g, "").length;
}

/** `[what, size, limit]` of every policy document and event pattern in `config`. */
function documentsOf(config: TerraformJson): [string, number, number][] {
  const out: [string, number, number][] = [];
  const each = (type: string, attribute: string, limit: number) => {
    for (const [id, r] of resources(config, type)) {
      if (typeof r[attribute] === "string") out.push([`${type}.${id}.${attribute}`, sizeOf(r[attribute]), limit]);
    }
  };
  const perRole = new Map<string, number>();
  for (const [, p] of resources(config, "aws_iam_role_policy")) {
    perRole.set(p.role as string, (perRole.get(p.role as string) ?? 0) + sizeOf(p.policy as string));
  }
  for (const [role, size] of perRole) out.push([`inline policies of ${role}`, size, LIMITS.roleInline]);
  each("aws_iam_policy", "policy", LIMITS.managedPolicy);
  each("aws_iam_role", "assume_role_policy", LIMITS.assumeRolePolicy);
  each("aws_efs_file_system_policy", "policy", LIMITS.fileSystemPolicy);
  each("aws_kms_key", "policy", LIMITS.keyPolicy);
  each("aws_kms_key_policy", "policy", LIMITS.keyPolicy);
  each("aws_s3_bucket_policy", "policy", LIMITS.bucketPolicy);
  each("aws_sns_topic_policy", "policy", LIMITS.topicPolicy);
  each("aws_secretsmanager_secret_policy", "policy", LIMITS.secretPolicy);
  each("aws_cloudwatch_log_resource_policy", "policy_document", LIMITS.logResourcePolicy);
  each("aws_cloudwatch_event_rule", "event_pattern", LIMITS.eventPattern);
  return out;
}

/** The largest roster a platform takes, signing in with the company's provider and sleeping when idle (the most statements). */
function largest(count: number, edit: (roster: Record<string, unknown>) => void): TerraformJson {
  const roster = parse(withOidc(generatedRosterText(count))) as Record<string, unknown>;
  roster.sleep = { idleMinutes: 60 };
  edit(roster);
  return synthStack(parseRoster(stringify(roster)));
}

describe.each([
  [
    "250 developers on ECS, ECS Exec on",
    () =>
      largest(250, (r) => {
        delete r.host;
        r.platform = "ecs";
        r.ecs = { exec: true };
      }),
  ],
  ["100 developers on the host", () => largest(100, (r) => (r.host = { instanceType: "m6i.32xlarge" }))],
])("every policy document and event pattern for %s", (_, synth) => {
  const config = synth();
  const documents = documentsOf(config);

  it("fits AWS's limit", () => {
    expect(documents.length).toBeGreaterThan(15);
    expect(documents.filter(([, size, limit]) => size > limit)).toEqual([]);
  });

  it("leaves the dashboard within its widgets, and each graph within its metrics", () => {
    const dashboard = Object.values(config.resource.aws_cloudwatch_dashboard as Record<string, { dashboard_body: string }>)[0];
    const widgets = parseDocument(dashboard.dashboard_body).widgets as { properties?: { metrics?: unknown[] } }[];
    expect(widgets.length).toBeLessThanOrEqual(LIMITS.dashboardWidgets);
    expect(Math.max(...widgets.map((w) => w.properties?.metrics?.length ?? 0))).toBeLessThanOrEqual(LIMITS.metricsPerGraph);
  });
});

describe("the measure", () => {
  it("counts references at a long ARN's length and leaves white space out", () => {
    expect(sizeOf('{"Resource": "${aws_iam_role.a.arn}"}')).toBe('{"Resource":""}'.length + REFERENCE_LENGTH);
    expect(sizeOf('${jsonencode({ Effect = "Allow" })}')).toBe('{"Effect":"Allow"}'.length);
  });
});
