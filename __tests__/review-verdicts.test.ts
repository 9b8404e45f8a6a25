/**
 * How the review reads a plan, without running one: actions and symbols, attribute changes (unknown
 * and sensitive values), what a developer notices of each replacement or destruction, the data
 * volume's verdicts (a shrink refused), and the report's summary and settings. The plans here are
 * fragments in Terraform's JSON format; whole plans of real roster changes are in
 * plans/review-changes.test.ts.
 */
import { parse, stringify } from "yaml";
import { parseRoster } from "../src/roster";
import { impactsOf } from "../src/review/impacts";
import { plannedAttributeChanges, planCounts, reviewAction, reviewedChanges, symbolOf, type ReviewedChange } from "../src/review/planned";
import { impossibleChange, protectedResources, verdictFromPlan } from "../src/review/protected";
import { resourceEntries } from "../src/review/diff";
import { renderReview } from "../src/review/report";
import { appliedBy, DEVELOPER_SETTINGS } from "../src/review/settings";
import { developerSchema } from "../src/roster/schema";
import { withOidc } from "./helpers/ecs-oidc";
import { exitCodeOf, synthesizeRoster, type Review } from "../src/review/review";
import type { JsonObject, PlanAction, PlanJson, ResourceChange } from "../src/terraform/plan-json";
import { DEFAULT_ROSTER_TEXT } from "./helpers/fleet";
import type { ProviderBlock } from "../src/terraform/plan-json";

const edited = (edit: (roster: ProviderBlock) => void): string => {
  const roster = parse(DEFAULT_ROSTER_TEXT) as ProviderBlock;
  edit(roster);
  return stringify(roster);
};
const change = (
  address: string,
  actions: PlanAction[],
  values: { before?: JsonObject | null; after?: JsonObject | null; replacePaths?: string[][]; unknown?: JsonObject } = {},
): ResourceChange => {
  const [type, name] = address.replace(/\[.*$/, "").split(".");
  return {
    address,
    mode: "managed",
    type,
    name,
    provider_name: "registry.terraform.io/hashicorp/aws",
    change: {
      actions,
      before: values.before === undefined ? {} : values.before,
      after: values.after === undefined ? {} : values.after,
      after_unknown: values.unknown ?? {},
      replace_paths: values.replacePaths ?? [],
    },
  };
};
const planOf = (...changes: ResourceChange[]): PlanJson => ({
  format_version: "1.2",
  terraform_version: "1.11.0",
  resource_changes: changes,
  planned_values: { root_module: {} },
});
const VOLUME = "aws_ebs_volume.data_volume";
const dataVolumeVerdict = (...paths: string[]) =>
  verdictFromPlan(
    "dataVolume",
    VOLUME,
    change(VOLUME, ["update"]),
    new Set([VOLUME]),
    paths.map((path) => ({ path, description: '"a" → "b"' })),
  );

describe("actions and symbols, as Terraform prints them", () => {
  it("reads Terraform's action lists; a no-op and a read are no change", () => {
    expect(reviewAction(["create"])).toBe("create");
    expect(reviewAction(["update"])).toBe("update");
    expect(reviewAction(["delete", "create"])).toBe("replace");
    expect(reviewAction(["create", "delete"])).toBe("replace");
    expect(reviewAction(["delete"])).toBe("delete");
    expect(reviewAction(["no-op"])).toBeUndefined();
    expect(reviewAction(["read"])).toBeUndefined();
    expect(reviewAction(["forget"])).toBe("forget");
    expect(symbolOf({ action: "forget", createFirst: false })).toBe(".");
  });

  it("prints -/+ for a replacement that destroys first and +/- for one that creates first", () => {
    const changes = reviewedChanges(
      planOf(change("aws_a.destroy_first", ["delete", "create"]), change("aws_b.create_first", ["create", "delete"])),
      new Map(),
      new Map(),
      new Set(),
    );
    expect(changes.map((c) => [c.address, symbolOf(c)])).toEqual([
      ["aws_a.destroy_first", "-/+"],
      ["aws_b.create_first", "+/-"],
    ]);
  });

  it("says what forces a replacement: the attributes, or else Terraform's reason (replace_triggered_by, a taint, -replace)", () => {
    const withReason = (address: string, reason: string, paths: string[][] = []) => ({
      ...change(address, ["delete", "create"], { replacePaths: paths }),
      action_reason: reason,
    });
    const changes = reviewedChanges(
      planOf(
        withReason("aws_a.port", "replace_because_cannot_update", [["port"]]),
        withReason("aws_a.triggered", "replace_by_triggers"),
        withReason("aws_a.tainted", "replace_because_tainted"),
        withReason("aws_a.asked", "replace_by_request"),
      ),
      new Map(),
      new Map(),
      new Set(),
    );
    expect(changes.map((c) => [c.address, c.forcedBy])).toEqual([
      ["aws_a.asked", ["-replace"]],
      ["aws_a.port", ["port"]],
      ["aws_a.tainted", ["the object being tainted"]],
      ["aws_a.triggered", ["replace_triggered_by"]],
    ]);
  });

  it("counts as Terraform does: a replacement is one to add and one to destroy", () => {
    const changes = reviewedChanges(
      planOf(
        change("aws_a.new", ["create"]),
        change("aws_a.changed", ["update"]),
        change("aws_a.replaced", ["delete", "create"]),
        change("aws_a.gone", ["delete"]),
        change("aws_a.same", ["no-op"]),
      ),
      new Map(),
      new Map(),
      new Set(),
    );
    expect(planCounts(changes)).toEqual({ add: 2, change: 1, destroy: 2, replace: 1 });
  });

  it("marks a change Terraform plans with no roster change too, when the roster left its configuration as it was", () => {
    const plan = planOf(change("aws_acm_certificate.c[0]", ["update"]), change("aws_lb.l", ["update"]));
    const self = new Map([
      ["aws_acm_certificate.c[0]", { action: "update" }],
      ["aws_lb.l", { action: "update" }],
    ]);
    const changes = reviewedChanges(plan, new Map(), self, new Set(["aws_lb.l"]));
    expect(changes.map((c) => [c.address, c.alsoWithoutTheChange])).toEqual([
      ["aws_acm_certificate.c[0]", true],
      ["aws_lb.l", false],
    ]);
  });
});

describe("attribute changes read from a plan", () => {
  it("says a value known only after apply, and never shows a sensitive one", () => {
    expect(
      plannedAttributeChanges(
        { port: 8445, id: "tg-1", secret: "old" },
        { port: 8460, id: null, secret: "new" },
        { unknown: { id: true }, sensitive: { secret: true } },
      ),
    ).toEqual([
      { path: "id", description: '"tg-1" → (known after apply)' },
      { path: "port", description: "8445 → 8460" },
      { path: "secret", description: "(sensitive value changes)" },
    ]);
  });

  it("reads an unset value and its empty one as the same, as the provider does", () => {
    expect(plannedAttributeChanges({ a: null, b: "", c: [], d: {} }, { a: "", b: null, c: null, d: null })).toEqual([]);
  });

  it("leaves out of a replacement the new object's computed values, but not what forces it", () => {
    const [replaced] = reviewedChanges(
      planOf(
        change("aws_lb_target_group_attachment.a", ["delete", "create"], {
          before: { id: "x", port: 8445 },
          after: { id: null, port: 8460 },
          unknown: { id: true },
          replacePaths: [["port"]],
        }),
      ),
      new Map(),
      new Map(),
      new Set(),
    );
    expect(replaced.attributes).toEqual([{ path: "port", description: "8445 → 8460" }]);
    expect(replaced.forcedBy).toEqual(["port"]);
  });
});

/** A reviewed change of `type` by `developer`, as reviewedChanges makes them. */
const reviewed = (address: string, action: ReviewedChange["action"], developer?: string, forcedBy: string[] = []): ReviewedChange => ({
  address,
  resource: address.replace(/\[.*$/, ""),
  type: address.split(".")[0],
  layer: "alb",
  developer,
  action,
  createFirst: false,
  forcedBy,
  attributes: [],
  alsoWithoutTheChange: false,
});

describe("what developers will notice", () => {
  it("a target-group attachment replaced for a new port: unreachable until the container is on the new port", () => {
    const [impact] = impactsOf([reviewed("aws_lb_target_group_attachment.a", "replace", "dev3", ["port"])], undefined, []);
    expect(impact).toEqual({
      developer: "dev3",
      addresses: ["aws_lb_target_group_attachment.a"],
      notice: expect.stringMatching(
        /^their editor is unreachable from the apply until the host has recreated their container on the new port/,
      ),
    });
  });

  it("a URL record renamed: the old and the new URL; the certificate's validation record: nothing of its own", () => {
    const plan = planOf(
      change("aws_route53_record.dns", ["delete", "create"], {
        before: { name: "dev1.dev.example.com", alias: [{ name: "lb" }] },
        after: { name: "dev1.code.example.org", alias: [{ name: "lb" }] },
      }),
      change("aws_route53_record.validation[0]", ["delete", "create"], { before: { name: "_abc.dev.example.com.", alias: [] } }),
    );
    const impacts = impactsOf(
      [reviewed("aws_route53_record.dns", "replace", "dev1"), reviewed("aws_route53_record.validation[0]", "replace")],
      plan,
      [],
    );
    expect(impacts.map((i) => [i.developer, i.notice])).toEqual([
      ["dev1", "the URL moves from https://dev1.dev.example.com to https://dev1.code.example.org; the old one stops resolving"],
    ]);
  });

  it("a secret replaced: which one, kept for its recovery window, and what it takes to use it again", () => {
    const plan = planOf(
      change("aws_secretsmanager_secret.p", ["delete", "create"], {
        before: { name: "code-server/dev/dev2/password", recovery_window_in_days: 30 },
      }),
      change("aws_secretsmanager_secret.k", ["delete", "create"], {
        before: { name: "code-server/dev/dev2/anthropic-api-key", recovery_window_in_days: 30 },
      }),
    );
    const impacts = impactsOf(
      [reviewed("aws_secretsmanager_secret.p", "replace", "dev2"), reviewed("aws_secretsmanager_secret.k", "replace", "dev2")],
      plan,
      [],
    );
    expect(impacts.map((i) => i.notice)).toEqual([
      "their password is scheduled for deletion (recoverable for 30 days) and a new, empty secret takes its place: the host generates a new password at its next apply, which they must be given again (show-password.sh)",
      "their Anthropic API key is scheduled for deletion (recoverable for 30 days) and a new, empty secret takes its place: the key must be set again (set-api-key.sh)",
    ]);
  });

  it("a removed developer: one sentence for all their resources; an update or a resource nobody depends on: nothing", () => {
    const impacts = impactsOf(
      [
        reviewed("aws_lb_target_group.tg-dev5", "delete", "dev5"),
        reviewed("aws_lb_listener_rule.rule-dev5", "delete", "dev5"),
        reviewed("aws_cloudwatch_metric_alarm.a-dev5", "delete", "dev5"),
        reviewed("aws_lb_listener_rule.rule-dev1", "update", "dev1"),
        reviewed("aws_cloudwatch_dashboard.d", "replace"),
      ],
      undefined,
      ["dev5"],
    );
    expect(impacts).toHaveLength(1);
    expect(impacts[0].developer).toBe("dev5");
    expect(impacts[0].notice).toMatch(/^removed: their URL stops answering \(listener rule, target group destroyed\), and the next apply/);
  });

  it("on ECS, a removed developer: their service and access point go, their home stays on the file system", () => {
    const impacts = impactsOf(
      [reviewed("aws_lb_listener_rule.rule-dev5", "delete", "dev5"), reviewed("aws_ecs_task_definition.ecs_task-dev5", "delete", "dev5")],
      undefined,
      ["dev5"],
      "ecs",
    );
    expect(impacts.map((i) => [i.developer, i.notice])).toEqual([
      [
        "dev5",
        "removed: their URL stops answering (listener rule destroyed), their service stops and their access point is deleted, and their home stays on the homes' file system at /home/dev5 (nothing is deleted; archive it before the apply with archive-home.sh, synthesized while the roster still names them: docs/operator-guide.md#remove-a-developer)",
      ],
    ]);
  });

  it("on ECS, a developer's replaced task definition: their task restarts, with what forces it; nobody's, or one ECS does not serve from yet: nothing", () => {
    const changes = [
      reviewed("aws_ecs_task_definition.ecs_task-dev3", "replace", "dev3", ["memory"]),
      reviewed("aws_ecs_task_definition.ecs_maintenance_task", "replace", undefined, ["container_definitions"]),
    ];
    expect(impactsOf(changes, undefined, [], "ecs").map((i) => [i.developer, i.notice])).toEqual([
      [
        "dev3",
        "their task is replaced (its memory changes): their editor is unreachable for a minute or two while the new task starts; open terminals and running processes end, their home stays",
      ],
    ]);
    expect(impactsOf(changes, undefined, [], "host")).toEqual([]);
  });
});

describe("the data volume changed in place", () => {
  it("its tags alone (a project rename): said so, with no modification and no resize2fs", () => {
    const volume = dataVolumeVerdict("tags.Name", "tags.backup-plan");
    expect(volume.consequence).toMatch(/^only its tags change: the data and the host are untouched; /);
    expect(volume.consequence).toContain(
      "its backup-plan tag, by which AWS Backup selects it, changes with the backup plan's name (both come from the roster's project and environment)",
    );
    expect(volume.consequence).not.toMatch(/size|resize2fs|modified/);
  });

  it("a tag that is not the backup tag: only the tags", () => {
    expect(dataVolumeVerdict("tags.Name", "tags_all.project").consequence).toBe(
      "only its tags change: the data and the host are untouched",
    );
  });

  it("a larger size: modified while attached, then grow the filesystem", () => {
    expect(dataVolumeVerdict("size").consequence).toBe(
      "EBS modifies it while it stays attached, with no downtime; once that is done, grow the filesystem on the host (resize2fs)",
    );
  });

  it("a smaller size: impossible, with both sizes, and no advice to grow anything", () => {
    const shrink = change(VOLUME, ["update"], { before: { size: 500 }, after: { size: 400 } });
    expect(impossibleChange("dataVolume", shrink)).toMatch(/^EBS volumes cannot shrink \(500 → 400 GiB\): AWS refuses the modification/);
    const verdict = verdictFromPlan("dataVolume", VOLUME, shrink, new Set([VOLUME]), [{ path: "size", description: "500 → 400" }]);
    expect(verdict).toMatchObject({ action: "update", impossible: true });
    expect(verdict.consequence).not.toMatch(/resize2fs/);
    expect(impossibleChange("dataVolume", change(VOLUME, ["update"], { before: { size: 500 }, after: { size: 600 } }))).toBeUndefined();
    expect(impossibleChange("host", shrink)).toBeUndefined();
  });

  it("performance alone: modified while attached, nothing to grow", () => {
    for (const attribute of ["type", "iops", "throughput"]) {
      expect([attribute, dataVolumeVerdict(attribute).consequence]).toEqual([
        attribute,
        "EBS modifies it while it stays attached, with no downtime",
      ]);
    }
  });

  it("another attribute: in place, without claiming a modification", () => {
    expect(dataVolumeVerdict("final_snapshot").consequence).toBe(
      "changed in place while it stays attached: the data and the host are untouched",
    );
  });
});

/** A review of two rosters with the given plan's changes and counts. */
function reviewWith(
  currentText: string,
  changes: ReviewedChange[],
  summary = { add: 0, change: 0, remove: 0 },
  baseText = DEFAULT_ROSTER_TEXT,
): Review {
  const base = synthesizeRoster("base.yaml", parseRoster(baseText, "base.yaml"));
  const current = synthesizeRoster("roster.yaml", parseRoster(currentText, "roster.yaml"));
  return { base, current, diffs: [], changes, protected: [], impacts: [], refusals: [], vars: {}, summary };
}

describe("the report", () => {
  type RosterDeveloper = { name: string; [field: string]: unknown };
  const withDev3 = (fields: Record<string, unknown>) =>
    edited((roster) => {
      const developers = roster.developers as RosterDeveloper[];
      Object.assign(
        developers.find((d) => d.name === "dev3")!,
        fields,
      );
    });
  const sectionOf = (text: string, title: string) => {
    const lines = text.split("\n");
    const start = lines.indexOf(title);
    return start < 0 ? undefined : lines.slice(start, lines.indexOf("", start));
  };

  it("lists the limits and extensions that only the host files carry under the developer", () => {
    const text = renderReview(reviewWith(withDev3({ cpuLimit: 2, memoryLimitGiB: 6, extensions: ["redhat.vscode-yaml"] }), []));
    expect(sectionOf(text, "dev3 (changed)")).toEqual([
      "dev3 (changed)",
      `  settings (${appliedBy("host")})`,
      "    ~ cpuLimit: 1.5 → 2",
      "    ~ memoryLimitGiB: 4 → 6",
      "    ~ extensions: +redhat.vscode-yaml",
    ]);
    expect(sectionOf(text, "dev2 (changed)")).toBeUndefined();
  });

  it("on ECS, says the settings take effect through a new task definition and task", () => {
    const onEcs = edited((roster) => {
      delete roster.host;
      roster.platform = "ecs";
      Object.assign(
        (roster.developers as RosterDeveloper[]).find((d) => d.name === "dev3")!,
        { cpuLimit: 2 },
      );
    });
    expect(sectionOf(renderReview(reviewWith(onEcs, [])), "dev3 (changed)")?.slice(0, 2)).toEqual([
      "dev3 (changed)",
      `  settings (${appliedBy("ecs")})`,
    ]);
    expect(appliedBy("ecs")).toMatch(
      /^the apply replaces their task definition, and ECS their task, when CPU, memory or extensions change$/,
    );
  });

  it("lists a developer's own idle time under the developer, with what it does: they sleep sooner, or never", () => {
    const sleeping = (roster: ProviderBlock) => (roster.sleep = { idleMinutes: 120 });
    const developers = (roster: ProviderBlock) => roster.developers as RosterDeveloper[];
    const base = edited(sleeping);
    const current = edited((roster) => {
      sleeping(roster);
      Object.assign(developers(roster)[2], { idleMinutes: 30 });
      Object.assign(developers(roster)[3], { idleMinutes: 0 });
      Object.assign(developers(roster)[4], { idleMinutes: 120 });
    });
    const text = renderReview(reviewWith(current, [], undefined, base));
    expect(sectionOf(text, "dev3 (changed)")).toEqual([
      "dev3 (changed)",
      `  settings (${appliedBy("host")})`,
      "    ~ idleMinutes: 120 → 30 (their environment sleeps after 30 minutes without activity; nothing restarts)",
    ]);
    expect(sectionOf(text, "dev4 (changed)")).toContain(
      "    ~ idleMinutes: 120 → 0 (their environment no longer sleeps; nothing restarts)",
    );
    // The team's time stated again as dev5's own changes nothing.
    expect(sectionOf(text, "dev5 (changed)")).toBeUndefined();
  });

  describe("a developer's sign-in identity", () => {
    const oidc = withOidc(DEFAULT_ROSTER_TEXT);
    const byName = (developers: RosterDeveloper[], name: string) => developers.find((d) => d.name === name)!;

    it("says that who may sign in at the developer's URL changes, for a new email or a sub that now wins over it", () => {
      const roster = parse(oidc) as { developers: RosterDeveloper[] };
      byName(roster.developers, "dev3").email = "dev3.new@example.com";
      byName(roster.developers, "dev4").sub = "0a1b2c";
      byName(roster.developers, "dev5").email = "DEV5@Example.com";
      const [base, current] = [oidc, stringify(roster)];
      const text = renderReview(reviewWith(current, [], undefined, base));
      expect(sectionOf(text, "dev3 (changed)")).toEqual([
        "dev3 (changed)",
        `  settings (${appliedBy("host")})`,
        "    ~ email/sub: dev3@example.com → dev3.new@example.com (who may sign in changes: from the apply on, the sign-in gate at dev3.dev.example.com admits dev3.new@example.com and no longer dev3@example.com; make sure that is dev3)",
      ]);
      expect(sectionOf(text, "dev4 (changed)")?.[2]).toBe(
        "    ~ email/sub: dev4@example.com → sub 0a1b2c (who may sign in changes: from the apply on, the sign-in gate at dev4.dev.example.com admits sub 0a1b2c and no longer dev4@example.com; make sure that is dev4)",
      );
      // The provider's addresses are compared in lower case, as the gate compares them.
      expect(sectionOf(text, "dev5 (changed)")).toBeUndefined();
    });

    it("lists no identity under the developers when the fleet's sign-in itself changes, or with passwords", () => {
      const switched = renderReview(reviewWith(oidc, []));
      expect(switched).not.toContain("email/sub:");
      const passwords = renderReview(
        reviewWith(
          edited((roster) => (byName(roster.developers as RosterDeveloper[], "dev3").email = "dev3@example.com")),
          [],
        ),
      );
      expect(sectionOf(passwords, "dev3 (changed)")).toBeUndefined();
    });
  });

  it("classifies every field of a roster developer, in the schema's order: compared, or left out with a reason", () => {
    expect(Object.keys(DEVELOPER_SETTINGS)).toEqual(Object.keys(developerSchema.shape));
    for (const [field, setting] of Object.entries(DEVELOPER_SETTINGS)) {
      if ("leftOut" in setting) expect([field, setting.leftOut.length > 20]).toEqual([field, true]);
    }
  });

  it("prints Terraform's counts, its replacements, and what it plans with no roster change too", () => {
    const certificate = { ...reviewed("aws_acm_certificate.c[0]", "update"), alsoWithoutTheChange: true };
    const attachment = reviewed("aws_lb_target_group_attachment.a", "replace", "dev3", ["port"]);
    const text = renderReview(reviewWith(withDev3({ port: 8460 }), [certificate, attachment], { add: 1, change: 1, remove: 1 }));
    expect(text).toContain("    -/+ aws_lb_target_group_attachment.a   [replaced, forced by port]\n");
    expect(text).toContain(
      "    ~   aws_acm_certificate.c[0]   [planned with no roster change too]\n          (Terraform shows no attribute that changes)\n",
    );
    expect(text).toMatch(
      /\nSummary: Terraform's plan: 1 to add, 1 to change, 1 to destroy \(1 replaced\), of which 1 planned with no roster change too\. /,
    );
  });

  it("exits 3 for an impact alone, and for a region change alone", () => {
    const quiet = reviewWith(DEFAULT_ROSTER_TEXT, []);
    expect(exitCodeOf(quiet)).toBe(0);
    expect(exitCodeOf({ ...quiet, impacts: [{ developer: "dev1", addresses: ["x"], notice: "n" }] })).toBe(3);
    expect(exitCodeOf({ ...quiet, regionChange: { from: "ap-southeast-7", to: "us-east-1" } })).toBe(3);
  });
});

describe("the homes on ECS", () => {
  const HOMES = "aws_efs_file_system.ecs_homes_file-system";

  it("are a protected resource of an ecs roster, found through the stack's output", () => {
    const roster = parse(DEFAULT_ROSTER_TEXT) as ProviderBlock;
    delete roster.host;
    const ecs = synthesizeRoster("roster.yaml", parseRoster(stringify({ ...roster, platform: "ecs" }), "roster.yaml"));
    const roles = protectedResources(
      ecs.config,
      resourceEntries(
        ecs.config,
        ecs.fleet.developers.map((d) => d.name),
      ),
    );
    expect(roles.get("homes")).toBe(HOMES);
    expect(roles.has("host")).toBe(false);
  });

  it("say what each action means for the homes, and a replacement is refused by prevent_destroy", () => {
    const replaced = verdictFromPlan("homes", HOMES, change(HOMES, ["delete", "create"]), new Set([HOMES]), []);
    expect(replaced).toMatchObject({ action: "replace", refused: true });
    expect(replaced.consequence).toMatch(/^a new, empty file system would replace it: every developer's home would be lost/);
    expect(verdictFromPlan("homes", HOMES, change(HOMES, ["create"]), new Set([HOMES]), []).consequence).toContain(
      "scripts/migrate-homes.sh",
    );
    expect(verdictFromPlan("homes", HOMES, change(HOMES, ["update"]), new Set([HOMES]), []).consequence).toBe(
      "changed in place: every home stays, and the tasks keep their mounts",
    );
  });
});
