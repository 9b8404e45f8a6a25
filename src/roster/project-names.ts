/**
 * Project names the host refuses: the host keeps a fleet's files in /etc/<project> (fleet.env,
 * the secret files), /var/lib/<project> (the apply lock, the roll-out's state) and /opt/<project>
 * (the host files, which every apply replaces whole; see `hostPaths`). A project named like a
 * directory the host's own software keeps there would mix the fleet's secrets and locks with that
 * software's files, and the next apply would move the /opt one away and delete it
 * (`project: aws` takes the CloudWatch agent in /opt/aws with it).
 *
 * The list: what the host installs (Docker, containerd), the AWS agents, and the directories of an
 * Ubuntu server image under /etc, /var/lib and /opt whose software a mixed-in file could confuse.
 * Files in /etc (passwd, hosts) are left out: a directory cannot take their place, so an apply
 * with such a project fails at once without harm.
 */
const SYSTEM_DIRECTORY_OWNERS: Readonly<Record<string, readonly string[]>> = {
  "Docker and containerd": ["docker", "containerd", "cni"],
  "the AWS agents (SSM agent, CloudWatch agent)": ["amazon", "aws", "amazon-ssm-agent"],
  "cloud-init (the instance's user data)": ["cloud"],
  "snap (it runs the SSM agent)": ["snap", "snapd"],
  "systemd, udev and D-Bus": ["systemd", "udev", "dbus", "dbus-1", "polkit-1", "private", "machines"],
  "the package manager": ["apt", "dpkg", "ucf", "alternatives", "update-notifier", "update-manager", "ubuntu-advantage", "landscape"],
  "the boot and the kernel": ["default", "kernel", "initramfs-tools", "grub", "plymouth"],
  "logins, keys and certificates": ["ssh", "ssl", "security", "pam", "sudo", "ca-certificates", "skel", "apparmor"],
  "networking, time and the firewall": ["network", "netplan", "iproute2", "iptables", "ufw", "dhcp", "chrony"],
  "the system's own tools": ["logrotate", "python", "python3", "perl", "vim", "man-db", "misc", "opt", "xdg"],
};

const OWNER_OF = new Map(Object.entries(SYSTEM_DIRECTORY_OWNERS).flatMap(([owner, names]) => names.map((name) => [name, owner])));

/** Every project name refused, for the roster reference and tests. */
export const SYSTEM_PROJECT_NAMES: readonly string[] = [...OWNER_OF.keys()];

/** Why `project` would put the host's files among the system's own, or undefined when it would not. */
export function systemProjectNameProblem(project: string, maxLength: number): string | undefined {
  const owner = OWNER_OF.get(project);
  if (!owner) return undefined;
  const alternative = `${project}-ide`;
  const example = alternative.length <= maxLength && !OWNER_OF.has(alternative) ? ` (e.g. ${alternative})` : "";
  return `project "${project}" names directories of ${owner} on the host: the host keeps this fleet's files in /etc/${project}, /var/lib/${project} and /opt/${project} (replacing /opt/${project} on every apply), which would mix them with that software's own. Choose another project name${example}`;
}
