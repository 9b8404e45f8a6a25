/**
 * The state fabricated from a plan that creates everything: unknown values faked in the shape AWS
 * gives them, values that plainly reference a faked one copied from it, and a settling plan's
 * known values taken in. Small hand-written plans and schemas; the real provider is exercised in
 * plans/review-terraform.test.ts.
 */
import { fabricateState, FAKE_ACCOUNT_ID, settleState } from "../src/terraform/fabricate-state";
import type { JsonObject, PlanJson, ResourceSchema } from "../src/terraform/plan-json";

const PROVIDER = "registry.terraform.io/hashicorp/aws";

const SCHEMAS = new Map<string, ResourceSchema>([
  [
    "aws_instance",
    {
      version: 1,
      block: {
        attributes: {
          id: { type: "string", computed: true },
          arn: { type: "string", computed: true },
          instance_type: { type: "string", required: true },
          private_ip: { type: "string", computed: true },
          subnet_id: { type: "string", optional: true },
          vpc_security_group_ids: { type: ["set", "string"], optional: true, computed: true },
          tags: { type: ["map", "string"], optional: true },
        },
        block_types: {
          root_block_device: {
            nesting_mode: "list",
            block: { attributes: { volume_id: { type: "string", computed: true }, volume_size: { type: "number", optional: true } } },
          },
        },
      },
    },
  ],
  ["aws_subnet", { version: 1, block: { attributes: { id: { type: "string", computed: true }, cidr_block: { type: "string" } } } }],
  [
    "aws_cloudwatch_metric_alarm",
    {
      version: 1,
      block: { attributes: { id: { type: "string", computed: true }, dimensions: { type: ["map", "string"], optional: true } } },
    },
  ],
]);

const planned = (type: string, name: string, values: JsonObject) => ({
  address: `${type}.${name}`,
  mode: "managed" as const,
  type,
  name,
  provider_name: PROVIDER,
  schema_version: 1,
  values,
});
const creating = (type: string, name: string, after: JsonObject, unknown: JsonObject) => ({
  address: `${type}.${name}`,
  mode: "managed" as const,
  type,
  name,
  provider_name: PROVIDER,
  change: { actions: ["create" as const], before: null, after, after_unknown: unknown },
});

const PLAN: PlanJson = {
  format_version: "1.2",
  terraform_version: "1.11.4",
  planned_values: {
    root_module: {
      resources: [
        planned("aws_subnet", "a", { cidr_block: "10.0.0.0/20" }),
        planned("aws_instance", "host", { instance_type: "t3.large", tags: { Name: "host" }, root_block_device: [{ volume_size: 50 }] }),
        planned("aws_cloudwatch_metric_alarm", "cpu", {}),
      ],
    },
  },
  resource_changes: [
    creating("aws_subnet", "a", { cidr_block: "10.0.0.0/20" }, { id: true }),
    creating(
      "aws_instance",
      "host",
      { instance_type: "t3.large", tags: { Name: "host" }, root_block_device: [{ volume_size: 50 }] },
      { id: true, arn: true, private_ip: true, subnet_id: true, vpc_security_group_ids: true, root_block_device: [{ volume_id: true }] },
    ),
    creating("aws_cloudwatch_metric_alarm", "cpu", {}, { id: true, dimensions: true }),
  ],
};

const CONFIG = {
  resource: {
    aws_subnet: { a: { cidr_block: "10.0.0.0/20" } },
    aws_instance: { host: { instance_type: "t3.large", subnet_id: "${aws_subnet.a.id}", tags: { Name: "host" } } },
    aws_cloudwatch_metric_alarm: { cpu: { dimensions: { InstanceId: "${aws_instance.host.id}", Stat: "Average" } } },
  },
};

const state = fabricateState(PLAN, SCHEMAS, "ap-southeast-7", CONFIG);
const attributes = (type: string) => state.resources.find((r) => r.type === type)!.instances[0].attributes;

describe("fabricateState", () => {
  it("writes a format-4 state of every planned resource, with its schema version and provider", () => {
    expect(state).toMatchObject({ version: 4, terraform_version: "1.11.4", serial: 1 });
    expect(state.resources.map((r) => [r.type, r.name, r.provider, r.instances[0].schema_version])).toEqual([
      ["aws_subnet", "a", `provider["${PROVIDER}"]`, 1],
      ["aws_instance", "host", `provider["${PROVIDER}"]`, 1],
      ["aws_cloudwatch_metric_alarm", "cpu", `provider["${PROVIDER}"]`, 1],
    ]);
  });

  it("keeps known values and fakes unknown ones the way AWS shapes them", () => {
    const host = attributes("aws_instance");
    expect(host.instance_type).toBe("t3.large");
    expect(host.id).toMatch(/^i-[0-9a-f]{17}$/);
    expect(host.arn).toMatch(new RegExp(`^arn:aws:instance:ap-southeast-7:${FAKE_ACCOUNT_ID}:instance/[0-9a-f]+$`));
    expect(host.private_ip).toBe("192.0.2.10");
    expect(host.vpc_security_group_ids).toEqual([]);
    expect(host.root_block_device).toEqual([{ volume_id: expect.stringMatching(/^vol-[0-9a-f]{17}$/), volume_size: 50 }]);
    expect(attributes("aws_subnet").id).toMatch(/^subnet-[0-9a-f]{17}$/);
  });

  it("copies a value that plainly references a faked one, so an id and its users agree", () => {
    expect(attributes("aws_instance").subnet_id).toBe(attributes("aws_subnet").id);
    expect(attributes("aws_cloudwatch_metric_alarm").dimensions).toEqual({ InstanceId: attributes("aws_instance").id, Stat: "Average" });
  });

  it("fakes the same ids for the same plan, so runs are comparable", () => {
    const again = fabricateState(PLAN, SCHEMAS, "ap-southeast-7", CONFIG);
    expect(again.resources.map((r) => r.instances)).toEqual(state.resources.map((r) => r.instances));
    expect(again.lineage).not.toBe(state.lineage);
  });
});

describe("terraform_data (Terraform's built-in provider)", () => {
  const BUILTIN = "terraform.io/builtin/terraform";
  const schema: ResourceSchema = {
    version: 0,
    block: {
      attributes: {
        id: { type: "string", computed: true },
        input: { type: "dynamic", optional: true },
        output: { type: "dynamic", computed: true },
        triggers_replace: { type: "dynamic", optional: true },
      },
    },
  };
  const input = { architecture: "x86_64" };
  const plan: PlanJson = {
    format_version: "1.2",
    terraform_version: "1.11.4",
    planned_values: {
      root_module: {
        resources: [
          { ...planned("terraform_data", "record", { input, triggers_replace: null }), provider_name: BUILTIN, schema_version: 0 },
        ],
      },
    },
    resource_changes: [{ ...creating("terraform_data", "record", { input }, { id: true, output: true }), provider_name: BUILTIN }],
  };
  const record = fabricateState(plan, new Map([["terraform_data", schema]]), "ap-southeast-7", {
    resource: { terraform_data: { record: { input } } },
  }).resources[0];

  it("has its output, once applied, equal to its input, each stored with its type as the state keeps dynamic values", () => {
    const typed = { value: input, type: ["object", { architecture: "string" }] };
    expect(record.provider).toBe(`provider["${BUILTIN}"]`);
    expect(record.instances[0].attributes).toMatchObject({ input: typed, output: typed, triggers_replace: null });
  });

  it("is left as fabricated by settling: its values are the configuration's literals", () => {
    const state = { version: 4 as const, terraform_version: "1.11.4", serial: 1, lineage: "l", outputs: {}, resources: [record] };
    const settled = settleState(state, {
      ...plan,
      resource_changes: [
        {
          ...plan.resource_changes![0],
          change: { actions: ["no-op"], before: { input, output: input }, after: { input, output: input }, after_unknown: {} },
        },
      ],
    });
    expect(settled.resources[0].instances[0]).toEqual(record.instances[0]);
  });
});

describe("settleState", () => {
  it("takes the values a plan of the same configuration knows, keeping the state's where the plan has none", () => {
    const before = attributes("aws_instance");
    const settled = settleState(state, {
      ...PLAN,
      resource_changes: [
        {
          ...creating("aws_instance", "host", { ...before, tags: { Name: "host", team: "a" }, arn: null }, { arn: true }),
          change: {
            actions: ["update"],
            before,
            after: { ...before, tags: { Name: "host", team: "a" }, arn: null },
            after_unknown: { arn: true },
          },
        },
      ],
    });
    const host = settled.resources.find((r) => r.type === "aws_instance")!.instances[0].attributes;
    expect(host.tags).toEqual({ Name: "host", team: "a" });
    expect(host.arn).toBe(before.arn);
    expect(settled.serial).toBe(2);
  });
});
