/** The ALB stand-in routes as the ALB does. */
import { check, expect } from "./check";

export const ROUTING = [
  check("proxy: each developer's host name reaches that developer's code-server (/healthz 200)", async (r) => {
    const failures: string[] = [];
    for (const developer of r.host.fleet.developers) {
      const response = await r.get(developer.name, "/healthz");
      if (response.status !== 200) failures.push(`${developer.hostname}: ${response.status}`);
    }
    expect(failures.length === 0, `routing failed: ${failures.join(", ")}`);
    return `${r.host.fleet.developers.length} host names answer 200 over TLS`;
  }),

  check("proxy: http redirects to https with a 301, keeping path and query", async (r) => {
    const [developer] = r.host.fleet.developers;
    const response = await r.get(developer.name, "/some/path?x=1", "http");
    const port = r.ports.https === 443 ? "" : `:${r.ports.https}`;
    const expected = `https://${developer.hostname}${port}/some/path?x=1`;
    expect(response.status === 301, `http answered ${response.status}, not 301`);
    expect(response.headers.location === expected, `redirected to ${String(response.headers.location)}, not ${expected}`);
    return `301 to ${expected}`;
  }),

  check("proxy: an unknown host name gets 404", async (r) => {
    const { proxyRequest } = await import("../proxy");
    const response = await proxyRequest("https", `nobody.${r.domain}`, "/", r.ports);
    expect(response.status === 404, `nobody.${r.domain} answered ${response.status}`);
    return `nobody.${r.domain}: 404`;
  }),
];
