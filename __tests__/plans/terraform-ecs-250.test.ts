/**
 * A 250-developer roster on ECS plans offline: its developers sharded over a load balancer per block of priorities,
 * every developer with their service, task definition, access point, target group, rule and DNS
 * record, and only creations. Slow (a plan of some 5,000 resources), so in `npm run test:plans`.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { synthInto } from "../../src/app";
import { parseRoster } from "../../src/roster";
import { ALB_SHARD_SIZE, shardOf } from "../../src/routing";
import { generatedRosterText, PROJECT_ROOT } from "../helpers/fleet";
import { changesOf, offlineWorkdir, type PlanJson, terraformOrSkip, type Workdir } from "../helpers/terraform";

const terraform = terraformOrSkip();
const maybe = terraform ? describe : describe.skip;
const TFVARS = readFileSync(join(PROJECT_ROOT, "terraform.tfvars.example"), "utf8");
const DEVELOPERS = 250;

function ecsRoster(): string {
  const roster = parse(generatedRosterText(DEVELOPERS)) as Record<string, unknown>;
  delete roster.host;
  return stringify({ ...roster, platform: "ecs" });
}

maybe(`a ${DEVELOPERS}-developer roster on ECS`, () => {
  const out = mkdtempSync(join(tmpdir(), "synth-ecs-250-"));
  let workdir: Workdir;
  let plan: PlanJson;

  beforeAll(() => {
    const { stackDir } = synthInto(parseRoster(ecsRoster()), join(out, "cdktf.out"));
    workdir = offlineWorkdir(terraform!, stackDir, { "test.tfvars": TFVARS });
    workdir.run(["init", "-input=false", "-no-color"]);
    workdir.shareProvider();
    workdir.run(["plan", "-refresh=false", "-input=false", "-no-color", "-var-file=test.tfvars", "-out=plan.bin"]);
    plan = workdir.json<PlanJson>(["show", "-json", "plan.bin"]);
  });

  afterAll(() => {
    workdir?.dispose();
    rmSync(out, { recursive: true, force: true });
  });

  it("plans offline, only creating", () => {
    expect(new Set(changesOf(plan).map((r) => r.change.actions.join(",")))).toEqual(new Set(["create"]));
  });

  it("gives every developer a service, a task definition, an access point, a target group, a rule and a DNS record", () => {
    const changes = changesOf(plan);
    const after = (r: (typeof changes)[number]) => r.change.after as Record<string, unknown>;
    const count = (type: string, isTheDevelopers: (r: Record<string, unknown>) => boolean = () => true) =>
      changes.filter((r) => r.type === type && isTheDevelopers(after(r))).length;
    // Beside them, the fleet's maintenance task has a task definition and an access point (rooted at /) of its own.
    const developerNames = new Set(Array.from({ length: DEVELOPERS }, (_, i) => `code-server-dev-dev${i + 1}`));
    expect(count("aws_ecs_service")).toBe(DEVELOPERS);
    expect(count("aws_ecs_task_definition", (t) => developerNames.has(t.family as string))).toBe(DEVELOPERS);
    expect(count("aws_efs_access_point", (a) => /^\/home\/dev\d+$/.test((a.root_directory as { path: string }[])[0].path))).toBe(
      DEVELOPERS,
    );
    expect(count("aws_lb_target_group")).toBe(DEVELOPERS);
    expect(count("aws_lb_listener_rule")).toBe(DEVELOPERS);
    const aliases = changesOf(plan).filter(
      (r) => r.type === "aws_route53_record" && Array.isArray((r.change.after as { alias?: unknown[] }).alias),
    );
    expect(aliases.length).toBeGreaterThanOrEqual(DEVELOPERS);
  });

  it(`shards them over a load balancer per ${ALB_SHARD_SIZE} priorities, none holding more rules than that`, () => {
    const shards = new Set(Array.from({ length: DEVELOPERS }, (_, i) => shardOf(8443 + i)));
    const balancers = changesOf(plan).filter((r) => r.type === "aws_lb");
    expect(balancers.map((lb) => (lb.change.after as { name: string }).name).sort()).toEqual(
      [...shards].map((shard) => `code-server-dev-${shard}`).sort(),
    );
    const rulesPerShard = new Map<string, number>();
    for (const rule of changesOf(plan).filter((r) => r.type === "aws_lb_listener_rule")) {
      const shard = /alb_shard-(\d+)_/.exec(rule.address)?.[1] ?? "none";
      rulesPerShard.set(shard, (rulesPerShard.get(shard) ?? 0) + 1);
    }
    expect([...rulesPerShard.keys()].sort()).toEqual([...shards].map(String).sort());
    expect(Math.max(...rulesPerShard.values())).toBeLessThanOrEqual(ALB_SHARD_SIZE);
  });
});
