/** Debian packages the rehearsal needs on this machine, installed with apt-get when missing. */
import { say } from "./log";
import { retry, run, runOk } from "./run";

/** What each package is for; the keys are installed when `dpkg-query` does not list them. */
export const MACHINE_PACKAGES: Readonly<Record<string, string>> = {
  debootstrap: "the image's root filesystem",
  "nginx-light": "the ALB stand-in",
  chromium: "the browser that logs in",
  iptables: "dockerd's NAT and published ports; setup.sh's base packages (the isolation rules)",
  e2fsprogs: "setup.sh formats the data volume (mkfs.ext4)",
  "util-linux": "losetup, mount, blkid, flock",
  jq: "the host scripts and the AWS stand-in",
  argon2: "apply.sh hashes passwords",
  gnupg: "setup.sh's base packages",
  curl: "setup.sh's base packages",
  "ca-certificates": "setup.sh's base packages",
  openssl: "the proxy's self-signed certificate",
  "libkrb5-dev": "building code-server's kerberos module",
  "build-essential": "building code-server's native modules (node-gyp)",
  python3: "node-gyp",
  procps: "pgrep",
  iproute2: "removing the engine's bridges; the internet stand-in's namespace",
  zip: "packing the probe extension (a VSIX)",
  psmisc: "fuser, for stop-containers.sh",
};

async function installed(name: string): Promise<boolean> {
  const result = await run("dpkg-query", ["-W", "-f=${Status}", name]);
  return result.code === 0 && result.stdout.trim() === "install ok installed";
}

export async function ensureMachinePackages(): Promise<string[]> {
  const missing: string[] = [];
  for (const name of Object.keys(MACHINE_PACKAGES)) if (!(await installed(name))) missing.push(name);
  if (missing.length === 0) return [];
  say(`installing Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  await retry("apt-get update", () => runOk("apt-get", ["update", "-q"], { env, timeoutSeconds: 300 }));
  await retry("apt-get install", () =>
    runOk("apt-get", ["install", "-y", "-q", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300", ...missing], {
      env,
      timeoutSeconds: 1200,
    }),
  );
  return missing;
}
