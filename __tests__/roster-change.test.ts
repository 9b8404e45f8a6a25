/**
 * A roster change touches only what it names, on either platform. Two rosters that differ by one
 * developer (dev5 removed, or added back) synthesize to stacks whose platform core (the host, its
 * user_data and data volume; or the cluster, the homes' file system and the maintenance task) is
 * byte-identical, whose other developers' resources are unchanged, and whose only other changes
 * are the shared resources each platform names.
 */
import { defaultFleet, editedFleet } from "./helpers/fleet";
import { only, synthStack } from "./helpers/synth";
import type { ProviderBlock, TerraformJson } from "../src/terraform/plan-json";

interface Platform {
  /** Turns the default roster into one of this platform. */
  readonly edit: (roster: ProviderBlock) => void;
  /** Resource types that must stay byte-identical: what serves or holds every developer. */
  readonly core: readonly string[];
  /** The only resources besides the developer's own that may change, by address. */
  readonly shared: readonly RegExp[];
}

const PLATFORMS: Record<"host" | "ecs", Platform> = {
  host: {
    edit: () => undefined,
    core: ["aws_instance", "aws_ebs_volume", "aws_volume_attachment"],
    // The host's files (the roster's lines in them), the association that applies them (their hash), the dashboard.
    shared: [/^aws_s3_object\./, /^aws_ssm_association\./, /^aws_cloudwatch_dashboard\./],
  },
  ecs: {
    edit: (roster) => {
      roster.platform = "ecs";
      delete roster.host;
    },
    core: ["aws_ecs_cluster", "aws_efs_file_system", "aws_efs_mount_target", "aws_efs_access_point.ecs_maintenance_access-point"],
    shared: [
      // The secrets the initializer fills, and the role that may fill them.
      /^aws_lambda_invocation\.secret-initializer/,
      /^aws_iam_role_policy\.secret-initializer/,
      // Which access point each task role may mount.
      /^aws_efs_file_system_policy\./,
      // The storage growth it tolerates follows the roster's size.
      /^aws_cloudwatch_metric_alarm\.monitoring_alarm-homes-storage$/,
      /^aws_cloudwatch_dashboard\./,
    ],
  },
};

/** Every resource as `type.logicalId` → config without cdktf's metadata. */
function index(config: ProviderBlock): Map<string, ProviderBlock> {
  const out = new Map<string, ProviderBlock>();
  for (const [type, named] of Object.entries<ProviderBlock>(config.resource)) {
    for (const [id, { "//": _meta, ...body }] of Object.entries<ProviderBlock>(named)) out.set(`${type}.${id}`, body);
  }
  return out;
}

/** The two stacks of a change and what differs between them. */
function diff(before: TerraformJson, after: TerraformJson) {
  const a = index(before);
  const b = index(after);
  return {
    a,
    b,
    changed: [...a.keys()].filter((k) => b.has(k) && JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k))),
    removed: [...a.keys()].filter((k) => !b.has(k)),
    added: [...b.keys()].filter((k) => !a.has(k)),
  };
}

/** Whether a resource is the named developer's: tagged so, or naming them. */
const isOf = (developer: string, body: ProviderBlock) => body.tags?.developer === developer || JSON.stringify(body).includes(developer);

/** A core entry: a resource type, or one resource's address. */
const coreOf = (config: TerraformJson, entry: string): unknown => {
  const [type, id] = entry.split(".");
  return id === undefined ? config.resource[type] : config.resource[type]?.[id];
};

describe.each(Object.entries(PLATFORMS))("a roster change on the %s platform", (_name, platform) => {
  const whole = synthStack(platform === PLATFORMS.host ? defaultFleet() : editedFleet(platform.edit));
  const withoutDev5 = synthStack(
    editedFleet((r) => {
      platform.edit(r);
      r.developers = r.developers.filter((d: { name: string }) => d.name !== "dev5");
    }),
  );
  const changes = {
    "removing dev5": { before: whole, after: withoutDev5 },
    "adding dev5": { before: withoutDev5, after: whole },
  };
  const developer = "dev5";

  describe.each(Object.entries(changes))("%s", (change, { before, after }) => {
    const { a, b, changed, removed, added } = diff(before, after);
    const removing = change.startsWith("removing");

    it("leaves what serves and holds every developer byte-identical", () => {
      for (const entry of platform.core) {
        expect(coreOf(before, entry)).toBeDefined();
        expect([entry, JSON.stringify(coreOf(after, entry))]).toEqual([entry, JSON.stringify(coreOf(before, entry))]);
      }
      if (platform === PLATFORMS.host) expect(only(after, "aws_instance").user_data).toBe(only(before, "aws_instance").user_data);
    });

    it(`${removing ? "removes" : "adds"} only ${developer}'s resources, and nothing the other way`, () => {
      const gone = removing ? removed : added;
      expect(removing ? added : removed).toEqual([]);
      expect(gone.length).toBeGreaterThan(0);
      for (const key of gone) expect([key, isOf(developer, (removing ? a : b).get(key)!)]).toEqual([key, true]);
    });

    it("changes only the shared resources the platform names", () => {
      const unnamed = changed.filter((k) => !platform.shared.some((pattern) => pattern.test(k)));
      expect(unnamed).toEqual([]);
      expect(changed.length).toBeGreaterThan(0);
    });

    it("keeps every other developer's resources, rule priority, DNS record and secrets as they were", () => {
      for (const [key, body] of a) {
        if (!b.has(key) || body.tags?.developer === undefined || body.tags.developer === developer) continue;
        expect([key, JSON.stringify(b.get(key))]).toEqual([key, JSON.stringify(body)]);
      }
      const priorities = (c: ProviderBlock) =>
        Object.values<ProviderBlock>(c.resource.aws_lb_listener_rule).map((r) => [r.tags.developer, r.priority]);
      const others = (c: ProviderBlock) => priorities(c).filter(([name]) => name !== developer);
      expect(others(after)).toEqual(others(before));
    });
  });
});

describe("a roster change on the host", () => {
  it("changes the host files' hash in the association, and nothing else of it", () => {
    const after = synthStack(editedFleet((r) => (r.developers = r.developers.filter((d: { name: string }) => d.name !== "dev5"))));
    const association = (c: TerraformJson) => only(c, "aws_ssm_association");
    const { hostFilesHash: h1, ...rest1 } = association(synthStack(defaultFleet())).parameters;
    const { hostFilesHash: h2, ...rest2 } = association(after).parameters;
    expect(h1).not.toBe(h2);
    expect(rest1).toEqual(rest2);
  });
});
