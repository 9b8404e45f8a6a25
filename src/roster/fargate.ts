/**
 * The task sizes AWS Fargate offers: fixed pairs of CPU units (1024 a vCPU) and memory. Each
 * developer's task on the ECS platform gets the smallest pair that holds their limits (`cpuLimit`,
 * `memoryLimitGiB`), so a developer is sized as on the host; a limit beyond the largest pair is a
 * roster problem that names it.
 */

/** One Fargate task size. */
export interface FargateSize {
  /** CPU units: 1024 per vCPU. */
  readonly cpu: number;
  /** Memory in MiB. */
  readonly memoryMiB: number;
}

/** The memory choices of each CPU size, in MiB: AWS's table of supported task sizes. */
const MEMORY_CHOICES: ReadonlyArray<readonly [cpu: number, from: number, to: number, step: number]> = [
  [256, 512, 512, 512],
  [256, 1024, 2048, 1024],
  [512, 1024, 4096, 1024],
  [1024, 2048, 8192, 1024],
  [2048, 4096, 16384, 1024],
  [4096, 8192, 30720, 1024],
  [8192, 16384, 61440, 4096],
  [16384, 32768, 122880, 8192],
];

/** Every Fargate task size, smallest CPU first, then smallest memory. */
export const FARGATE_SIZES: readonly FargateSize[] = MEMORY_CHOICES.flatMap(([cpu, from, to, step]) =>
  Array.from({ length: (to - from) / step + 1 }, (_, i) => ({ cpu, memoryMiB: from + i * step })),
);

/** The largest task Fargate runs. */
export const LARGEST_FARGATE_SIZE: FargateSize = FARGATE_SIZES[FARGATE_SIZES.length - 1];

/** `2 vCPU / 4 GiB`. */
export function describeFargateSize(size: FargateSize): string {
  return `${size.cpu / 1024} vCPU / ${size.memoryMiB / 1024} GiB`;
}

/**
 * The smallest Fargate size with at least `vcpus` and `memoryMiB`, or undefined when none has:
 * the smallest CPU that holds the limit, then the least memory with it (CPU costs about nine times
 * a GiB of memory an hour, so less CPU is the cheaper pair).
 */
export function smallestFargateSize(vcpus: number, memoryMiB: number): FargateSize | undefined {
  return FARGATE_SIZES.find((size) => size.cpu >= vcpus * 1024 && size.memoryMiB >= memoryMiB);
}

/** How many developers' names a line of `describeFargateSizes` lists before it shortens them to "first … last". */
const NAMES_LISTED = 3;

/**
 * One line for synth: each distinct size the developers' tasks get, smallest first, with how many
 * and which developers (roster order), as "1 vCPU / 2 GiB × 6 (dev1 … dev6), 2 vCPU / 4 GiB × 2
 * (dev7, dev8)". As short for 250 developers as for 8; undefined when no developer has a size (the host).
 */
export function describeFargateSizes(developers: readonly { readonly name: string; readonly fargate?: FargateSize }[]): string | undefined {
  const bySize = new Map<FargateSize, string[]>();
  for (const { name, fargate } of developers) {
    if (!fargate) continue;
    const size = FARGATE_SIZES.find((s) => s.cpu === fargate.cpu && s.memoryMiB === fargate.memoryMiB) ?? fargate;
    bySize.set(size, [...(bySize.get(size) ?? []), name]);
  }
  if (bySize.size === 0) return undefined;
  const order = (size: FargateSize) => size.cpu * 1e6 + size.memoryMiB;
  return [...bySize]
    .sort(([a], [b]) => order(a) - order(b))
    .map(([size, names]) => {
      const which = names.length <= NAMES_LISTED ? names.join(", ") : `${names[0]} … ${names[names.length - 1]}`;
      return `${describeFargateSize(size)} × ${names.length} (${which})`;
    })
    .join(", ");
}
