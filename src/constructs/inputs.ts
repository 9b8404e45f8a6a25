/**
 * Plan-time inputs: per-environment values that do not change the shape of the plan,
 * known only at plan time. Each is a Terraform variable with a type, a
 * description and validation, listed with examples in terraform.tfvars.example.
 */
import { type IResolvable, TerraformVariable } from "cdktf";
import { Construct } from "constructs";

/** TLS policies the HTTPS listener may use: TLS 1.3 policies only, post-quantum first. */
export const ALLOWED_SSL_POLICIES = [
  "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
  "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
  "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
  "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
  "ELBSecurityPolicy-TLS13-1-2-2021-06",
  "ELBSecurityPolicy-TLS13-1-3-2021-06",
] as const;
export const DEFAULT_SSL_POLICY = ALLOWED_SSL_POLICIES[0];

/** Most entries of allowed_cidrs: two ALB rules each, within AWS's default 60 rules per security group. */
export const MAX_ALLOWED_CIDRS = 25;

/** Retention values CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

interface VariableSpec {
  readonly type: string;
  readonly description: string;
  readonly default?: unknown;
  readonly validation?: readonly { readonly condition: string; readonly errorMessage: string }[];
}

/** Every plan-time variable, by its Terraform name. */
/** What an ACM certificate's ARN looks like: the certificate_arn variable and the ALB layer check it by this one pattern. */
export const ACM_CERTIFICATE_ARN = "^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/";

export const VARIABLES = {
  hosted_zone_id: {
    type: "string",
    description: "Route53 hosted zone id of the roster's domain; certificate validation and developer records go there.",
    validation: [
      {
        condition: '${can(regex("^Z[A-Z0-9]{1,31}$", var.hosted_zone_id))}',
        errorMessage: "hosted_zone_id must be a Route53 zone id such as Z0123456789ABCDEFGHIJ.",
      },
    ],
  },
  certificate_arn: {
    type: "string",
    default: "",
    description:
      "ARN of an existing ACM certificate covering *.<domain>. Empty (the default): the stack requests one and validates it through DNS.",
    validation: [
      {
        condition: `\${var.certificate_arn == "" || can(regex("${ACM_CERTIFICATE_ARN}", var.certificate_arn))}`,
        errorMessage: "certificate_arn must be empty or an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>).",
      },
    ],
  },
  admin_cidrs: {
    type: "list(string)",
    default: [],
    description: "CIDR blocks allowed to reach the host on SSH (22). Empty (the default): no SSH rule at all; use SSM Session Manager.",
    validation: [
      {
        condition: "${alltrue([for c in var.admin_cidrs : can(cidrnetmask(c)) || can(cidrhost(c, 0))])}",
        errorMessage: "admin_cidrs must be CIDR blocks such as 203.0.113.10/32.",
      },
      {
        condition: '${alltrue([for c in var.admin_cidrs : !endswith(c, "/0")])}',
        errorMessage: "admin_cidrs must not open SSH to the whole internet (0.0.0.0/0 or ::/0); list your admin addresses.",
      },
    ],
  },
  allowed_cidrs: {
    type: "list(string)",
    default: ["0.0.0.0/0"],
    description:
      "IPv4 CIDR blocks allowed to reach the ALB (HTTPS 443 and HTTP 80, which only redirects). Default: anywhere. At most 25 (two security-group rules each).",
    validation: [
      {
        condition: `\${length(var.allowed_cidrs) >= 1 && length(var.allowed_cidrs) <= ${MAX_ALLOWED_CIDRS}}`,
        errorMessage: `allowed_cidrs must list 1 to ${MAX_ALLOWED_CIDRS} CIDR blocks (two security-group rules each; AWS allows 60 per group). ["0.0.0.0/0"] allows anyone.`,
      },
      {
        condition: "${alltrue([for c in var.allowed_cidrs : can(cidrnetmask(c))])}",
        errorMessage: "allowed_cidrs must be IPv4 CIDR blocks such as 203.0.113.0/24 (the ALB has IPv4 addresses only).",
      },
    ],
  },
  alarm_emails: {
    type: "list(string)",
    description: "E-mail addresses that receive alarms and budget notifications (each must confirm the SNS subscription).",
    validation: [
      {
        condition: "${length(var.alarm_emails) > 0}",
        errorMessage: "alarm_emails must list at least one address: alarms and budget alerts need a recipient.",
      },
      {
        condition: '${alltrue([for e in var.alarm_emails : can(regex("^[^@\\\\s]+@[^@\\\\s]+\\\\.[^@\\\\s]+$", e))])}',
        errorMessage: "alarm_emails must be e-mail addresses such as ops@example.com.",
      },
    ],
  },
  ami_id: {
    type: "string",
    default: "",
    description:
      "AMI of the host (Ubuntu 22.04 of the host's architecture). Empty: look up Canonical's current image in the public SSM parameter at plan time. A new image never replaces a running host.",
    validation: [
      {
        condition: '${var.ami_id == "" || can(regex("^ami-[0-9a-f]{8,17}$", var.ami_id))}',
        errorMessage: "ami_id must be empty or an AMI id such as ami-0123456789abcdef0.",
      },
    ],
  },
  vpc_cidr: {
    type: "string",
    default: "10.40.0.0/16",
    description: "CIDR block of the VPC; the public subnets are carved from it (/24 each).",
    validation: [
      {
        condition:
          '${can(cidrnetmask(var.vpc_cidr)) && tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 22}',
        errorMessage: "vpc_cidr must be an IPv4 CIDR block from /16 to /22, such as 10.40.0.0/16.",
      },
    ],
  },
  data_volume_size_gb: {
    type: "number",
    default: 500,
    description: "Size of the encrypted gp3 data volume holding every workspace (default 500 GB). It can grow, never shrink.",
    validation: [
      {
        condition:
          "${var.data_volume_size_gb >= 50 && var.data_volume_size_gb <= 16384 && floor(var.data_volume_size_gb) == var.data_volume_size_gb}",
        errorMessage: "data_volume_size_gb must be a whole number of GiB from 50 to 16384.",
      },
    ],
  },
  log_retention_days: {
    type: "number",
    default: 30,
    description: "Retention of the CloudWatch log groups in days (default 30).",
    validation: [
      {
        condition: `\${contains([${LOG_RETENTION_DAYS.join(", ")}], var.log_retention_days)}`,
        errorMessage: `log_retention_days must be one of the values CloudWatch accepts: ${LOG_RETENTION_DAYS.join(", ")}.`,
      },
    ],
  },
  budget_amount_usd: {
    type: "number",
    default: 400,
    description: "Monthly cost budget in USD; notifications at 80, 100 and 120 percent.",
    validation: [{ condition: "${var.budget_amount_usd > 0}", errorMessage: "budget_amount_usd must be above 0." }],
  },
  ssl_policy: {
    type: "string",
    default: DEFAULT_SSL_POLICY,
    description:
      "TLS policy of the HTTPS listener. The older ELBSecurityPolicy-TLS-1-2-2017-01 is legacy; only TLS 1.3 policies are accepted.",
    validation: [
      {
        condition: `\${contains(${JSON.stringify(ALLOWED_SSL_POLICIES)}, var.ssl_policy)}`,
        errorMessage: `ssl_policy must be one of: ${ALLOWED_SSL_POLICIES.join(", ")}.`,
      },
    ],
  },
  termination_protection: {
    type: "bool",
    default: true,
    description: "EC2 termination protection on the host. Set false only to retire the environment.",
  },
  alb_deletion_protection: {
    type: "bool",
    default: true,
    description: "Deletion protection on the ALB. Set false only to retire the environment.",
  },
} satisfies Record<string, VariableSpec>;

export type VariableName = keyof typeof VARIABLES;

/** The plan-time variables of one stack, as typed accessors. */
export class EnvironmentInputs extends Construct {
  private readonly variables: Record<VariableName, TerraformVariable>;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const entries = Object.entries(VARIABLES) as [VariableName, VariableSpec][];
    const variable = (name: VariableName, spec: VariableSpec) => {
      const declared = new TerraformVariable(this, name.replace(/_/g, "-"), {
        type: spec.type,
        description: spec.description,
        default: spec.default,
        nullable: false,
        validation: spec.validation?.map((rule) => ({ condition: rule.condition, errorMessage: rule.errorMessage })),
      });
      // Variable names are what operators write in terraform.tfvars: the plain keys above.
      declared.overrideLogicalId(name);
      return declared;
    };
    this.variables = Object.fromEntries(entries.map(([name, spec]) => [name, variable(name, spec)])) as Record<
      VariableName,
      TerraformVariable
    >;
  }

  get hostedZoneId(): string {
    return this.variables.hosted_zone_id.stringValue;
  }
  get certificateArn(): string {
    return this.variables.certificate_arn.stringValue;
  }
  get adminCidrs(): string[] {
    return this.variables.admin_cidrs.listValue;
  }
  get allowedCidrs(): string[] {
    return this.variables.allowed_cidrs.listValue;
  }
  get alarmEmails(): string[] {
    return this.variables.alarm_emails.listValue;
  }
  get amiId(): string {
    return this.variables.ami_id.stringValue;
  }
  get vpcCidr(): string {
    return this.variables.vpc_cidr.stringValue;
  }
  get dataVolumeSizeGb(): number {
    return this.variables.data_volume_size_gb.numberValue;
  }
  get logRetentionDays(): number {
    return this.variables.log_retention_days.numberValue;
  }
  get budgetAmountUsd(): number {
    return this.variables.budget_amount_usd.numberValue;
  }
  get sslPolicy(): string {
    return this.variables.ssl_policy.stringValue;
  }
  get terminationProtection(): IResolvable {
    return this.variables.termination_protection.booleanValue;
  }
  get albDeletionProtection(): IResolvable {
    return this.variables.alb_deletion_protection.booleanValue;
  }
  /** The Terraform expression `var.<name>`, for conditions written as HCL. */
  ref(name: VariableName): TerraformVariable {
    return this.variables[name];
  }
}
