/**
 * The attack on code-server's password from inside its own container, for any platform: `auth:
 * none` written as the developer into every config file code-server could read, code-server
 * killed, and the platform's own way of bringing it back; then the password must still be asked
 * for. The host leg and the ECS leg differ only in how they reach the container and restart it.
 */
import { randomBytes } from "node:crypto";
import type { LoginOutcome } from "../browser";
import type { RunResult } from "../lib/run";
import type { ProxyResponse } from "../proxy";
import { expect } from "./check";

/** A developer's code-server as the attack reaches it. */
export interface AuthTarget {
  /** Runs a shell script in the container as its user, as a terminal or an extension would. */
  exec(script: string): Promise<RunResult>;
  /** Kills code-server from inside and waits until the platform has it healthy again; says how it came back. */
  restartAfterKill(): Promise<string>;
  /** GET of a path through the ALB stand-in. */
  get(path: string): Promise<ProxyResponse>;
  login(password: string): Promise<LoginOutcome>;
  password(): Promise<string>;
}

/** $CODE_SERVER_CONFIG, code-server's default config path and the legacy layout's, each created if need be. */
const ATTACK = `for f in "$CODE_SERVER_CONFIG" ~/.config/code-server/config.yaml ~/.local/share/code-server/config.yaml; do
  mkdir -p "$(dirname "$f")" 2>/dev/null
  if printf 'auth: none\\n' > "$f" 2>/dev/null; then echo "written $f"; else echo "refused $f"; fi
done`;

/** Kills code-server, PID 1's child (the init exits with it), as the container's user. */
export const KILL_CODE_SERVER = "kill -KILL $(pgrep -P 1)";

/** Runs the attack and the restart; throws unless the password is still required. The check's detail line. */
export async function authNoneAttack(target: AuthTarget): Promise<string> {
  const attack = await target.exec(ATTACK);
  const restarted = await target.restartAfterKill();
  const root = await target.get("/");
  const location = String(root.headers.location ?? "");
  expect(
    root.status === 302 && /login/.test(location),
    `after the restart, GET / without a password answers ${root.status} ${location} (${root.body.slice(0, 80)}): auth is off. From inside, the attack did:\n${attack.stdout}`,
  );
  const wrong = await target.login(`wrong-${randomBytes(4).toString("hex")}`);
  const right = await target.login(await target.password());
  expect(
    !wrong.accepted && right.accepted,
    `after the restart a wrong password is ${wrong.accepted ? "accepted" : "refused"}, the right one ${right.accepted ? "accepted" : "refused"}`,
  );
  return `${attack.stdout.trim().split("\n").join(", ")}; ${restarted}; GET / through the proxy: ${root.status} to ${location}; a wrong password refused, the right one accepted`;
}
