/** Whether a host is on loopback: the only place the gate and its tests may speak plain HTTP. */
import { isIP } from "node:net";

/** `localhost`, 127.0.0.0/8 or ::1: where plain HTTP cannot be watched or altered by anyone else. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return isIP(host) === 6 && host === "::1";
}
