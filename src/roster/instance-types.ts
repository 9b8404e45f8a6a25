/**
 * vCPU and memory of the EC2 instance types a roster may name, so synth can check that the
 * developers' reservations fit the host before anything is deployed.
 *
 * The table is derived, not typed out: within a family every size has the same memory per
 * vCPU, and sizes share one vCPU ladder. A type outside the table is accepted when the roster
 * states its `vcpus` and `memoryGiB` (see `host.vcpus` in docs/roster-reference.md).
 */

export type Architecture = "x86_64" | "arm64";

export interface InstanceTypeInfo {
  readonly vcpus: number;
  readonly memoryGiB: number;
  readonly architecture: Architecture;
}

/** vCPUs of each size name; the same ladder holds across the families below. */
const SIZE_VCPUS: Readonly<Record<string, number>> = {
  medium: 1,
  large: 2,
  xlarge: 4,
  "2xlarge": 8,
  "4xlarge": 16,
  "8xlarge": 32,
  "9xlarge": 36,
  "12xlarge": 48,
  "16xlarge": 64,
  "18xlarge": 72,
  "24xlarge": 96,
  "32xlarge": 128,
  "48xlarge": 192,
};

interface FamilySpec {
  readonly gibPerVcpu: number;
  readonly architecture: Architecture;
  readonly sizes: readonly string[];
}

const GENERAL_X86 = ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"];
const GRAVITON = ["medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"];

const FAMILIES: Readonly<Record<string, FamilySpec>> = {
  // general purpose, 4 GiB per vCPU
  m5: { gibPerVcpu: 4, architecture: "x86_64", sizes: GENERAL_X86 },
  m6i: { gibPerVcpu: 4, architecture: "x86_64", sizes: [...GENERAL_X86, "32xlarge"] },
  m7i: { gibPerVcpu: 4, architecture: "x86_64", sizes: [...GENERAL_X86, "48xlarge"] },
  m6g: { gibPerVcpu: 4, architecture: "arm64", sizes: GRAVITON },
  m7g: { gibPerVcpu: 4, architecture: "arm64", sizes: GRAVITON },
  // compute optimised, 2 GiB per vCPU
  c5: {
    gibPerVcpu: 2,
    architecture: "x86_64",
    sizes: ["large", "xlarge", "2xlarge", "4xlarge", "9xlarge", "12xlarge", "18xlarge", "24xlarge"],
  },
  c6i: { gibPerVcpu: 2, architecture: "x86_64", sizes: [...GENERAL_X86, "32xlarge"] },
  c6g: { gibPerVcpu: 2, architecture: "arm64", sizes: GRAVITON },
  c7g: { gibPerVcpu: 2, architecture: "arm64", sizes: GRAVITON },
  // memory optimised, 8 GiB per vCPU
  r5: { gibPerVcpu: 8, architecture: "x86_64", sizes: GENERAL_X86 },
  r6i: { gibPerVcpu: 8, architecture: "x86_64", sizes: [...GENERAL_X86, "32xlarge"] },
  r6g: { gibPerVcpu: 8, architecture: "arm64", sizes: GRAVITON },
  r7g: { gibPerVcpu: 8, architecture: "arm64", sizes: GRAVITON },
};

/** Burstable families do not follow the ladder: their small sizes have 2 vCPUs each. */
const BURSTABLE: Readonly<Record<string, readonly [vcpus: number, memoryGiB: number]>> = {
  nano: [2, 0.5],
  micro: [2, 1],
  small: [2, 2],
  medium: [2, 4],
  large: [2, 8],
  xlarge: [4, 16],
  "2xlarge": [8, 32],
};
const BURSTABLE_FAMILIES: Readonly<Record<string, Architecture>> = { t3: "x86_64", t3a: "x86_64", t4g: "arm64" };

function buildTable(): ReadonlyMap<string, InstanceTypeInfo> {
  const table = new Map<string, InstanceTypeInfo>();
  for (const [family, spec] of Object.entries(FAMILIES)) {
    for (const size of spec.sizes) {
      const vcpus = SIZE_VCPUS[size];
      table.set(`${family}.${size}`, { vcpus, memoryGiB: vcpus * spec.gibPerVcpu, architecture: spec.architecture });
    }
  }
  for (const [family, architecture] of Object.entries(BURSTABLE_FAMILIES)) {
    for (const [size, [vcpus, memoryGiB]] of Object.entries(BURSTABLE)) {
      table.set(`${family}.${size}`, { vcpus, memoryGiB, architecture });
    }
  }
  return table;
}

export const INSTANCE_TYPES: ReadonlyMap<string, InstanceTypeInfo> = buildTable();

/** The families of the table, burstable first: what a roster may name without stating vcpus and memoryGiB. */
export const INSTANCE_FAMILIES: readonly string[] = [...Object.keys(BURSTABLE_FAMILIES), ...Object.keys(FAMILIES)];

/** The families of the table whose types are of `architecture`, burstable first. */
export function familiesOf(architecture: Architecture): string[] {
  return INSTANCE_FAMILIES.filter((family) => (BURSTABLE_FAMILIES[family] ?? FAMILIES[family]?.architecture) === architecture);
}

/** Debian's (and Canonical's image catalogue's) name for each architecture. */
export const DEBIAN_ARCHITECTURE: Readonly<Record<Architecture, "amd64" | "arm64">> = { x86_64: "amd64", arm64: "arm64" };

/** Families whose types are burstable (CPU credits); the compute layer sets unlimited credits for them. */
export function isBurstable(instanceType: string): boolean {
  return instanceType.split(".")[0] in BURSTABLE_FAMILIES;
}

/** Graviton types are arm64: families whose name has a `g` after the generation digit. */
export function architectureOf(instanceType: string): Architecture {
  return /^[a-z]+\d+g[a-z]*\./.test(instanceType) ? "arm64" : "x86_64";
}
