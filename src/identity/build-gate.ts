/**
 * `npm run build:gate -- --out <file>`: writes the gate's bundle (gate-bundle.ts) to <file>.
 */
import { parseCommandLine } from "../command-line";
import { writeFileAtomically } from "../write-atomically";
import { bundleGate, GATE_NODE_IMAGE } from "./gate-bundle";

const USAGE = `usage: npm run build:gate -- --out <file>
Writes the sign-in gate as one JavaScript file that ${GATE_NODE_IMAGE} runs as it is.`;

function main(): void {
  const parsed = parseCommandLine<{ out?: string }>(process.argv.slice(2), { out: { type: "string" } }, USAGE);
  if ("exit" in parsed) process.exit(parsed.exit);
  const out = parsed.values.out;
  if (!out) {
    console.error(`--out <file> is required\n${USAGE}`);
    process.exit(2);
  }
  writeFileAtomically(out, bundleGate());
  console.log(`wrote ${out}`);
}

try {
  main();
} catch (err: unknown) {
  console.error(`build:gate: ${(err as Error).message}`);
  process.exit(1);
}
