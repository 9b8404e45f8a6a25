/**
 * The rehearsal's pure parts (npm run rehearse itself needs root and an engine, and is not part
 * of npm test): the ALB stand-in's nginx configuration from the routing table, and the choice of
 * the code-server release the image is built from.
 */
import { codeServerReleaseFor } from "../rehearse/image";
import { nginxConfig } from "../rehearse/proxy";
import { listenerResponseHeaders } from "../rehearse/rosters";
import { synthStack } from "./helpers/synth";
import { routingTable } from "../src/routing";
import { fleetOf } from "./fixtures/rosters";

const fleet = fleetOf();
const routes = routingTable(fleet);
const paths = { dir: "/p", pidFile: "/p/nginx.pid", certificateFile: "/p/tls.crt", keyFile: "/p/tls.key" };
/** The `server { ... }` blocks of a generated configuration, as text. */
const servers = (config: string) => config.split(/\n {2}server \{\n/).slice(1);

describe("the ALB stand-in's nginx.conf", () => {
  const config = nginxConfig(routes, { https: 443, http: 80 }, paths);

  it("has one TLS server per developer that forwards its host name to the developer's port, Host kept, websockets upgraded", () => {
    for (const route of routes) {
      const [server] = servers(config).filter((s) => s.includes(`server_name ${route.host};`));
      expect(server).toBeDefined();
      expect(server).toContain("listen 127.0.0.1:443 ssl;");
      expect(server).toContain(`proxy_pass http://127.0.0.1:${route.port};`);
      expect(server).toContain("proxy_set_header Host $http_host;");
      expect(server).toContain("proxy_set_header Upgrade $http_upgrade;");
    }
    expect(servers(config)).toHaveLength(routes.length + 2);
  });

  it("answers an unknown host with 404 and redirects plain HTTP to HTTPS with a 301", () => {
    const defaults = servers(config).filter((s) => s.includes("default_server"));
    expect(defaults.find((s) => s.includes("listen 127.0.0.1:443 ssl default_server;"))).toContain("return 404");
    expect(defaults.find((s) => s.includes("listen 127.0.0.1:80 default_server;"))).toContain("return 301 https://$host$request_uri;");
  });

  it("adds the HTTPS listener's response headers to every developer's answers, replacing the target's, and nowhere else", () => {
    const headers = { "Strict-Transport-Security": "max-age=31536000; includeSubDomains", "X-Frame-Options": "SAMEORIGIN" };
    const withHeaders = nginxConfig(routes, { https: 443, http: 80 }, paths, headers);
    for (const route of routes) {
      const [server] = servers(withHeaders).filter((s) => s.includes(`server_name ${route.host};`));
      expect(server).toContain("proxy_hide_header Strict-Transport-Security;");
      expect(server).toContain('add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;');
      expect(server).toContain('add_header X-Frame-Options "SAMEORIGIN" always;');
    }
    expect(servers(withHeaders).filter((s) => s.includes("add_header"))).toHaveLength(routes.length);
    expect(config).not.toContain("add_header");
  });

  it("reads those headers from the synthesized HTTPS listener's routing.http.response attributes", () => {
    const headers = listenerResponseHeaders(synthStack(fleet));
    expect(headers["Strict-Transport-Security"]).toMatch(/^max-age=\d+/);
    expect(headers["X-Content-Type-Options"]).toBe("nosniff");
    expect(
      Object.keys(headers).every((h) =>
        ["Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy"].includes(h),
      ),
    ).toBe(true);
  });

  it("keeps a non-standard HTTPS port in the redirect", () => {
    expect(nginxConfig(routes, { https: 8443, http: 8080 }, paths)).toContain("return 301 https://$host:8443$request_uri;");
  });
});

describe("codeServerReleaseFor", () => {
  it("builds the roster's tag when npm has that release, else the next release after it", () => {
    const published = ["4.100.3", "4.103.2", "4.104.0", "4.105.0-rc.1"];
    expect(codeServerReleaseFor("4.103.2", published)).toBe("4.103.2");
    expect(codeServerReleaseFor("4.102.2", published)).toBe("4.103.2");
    expect(() => codeServerReleaseFor("4.200.0", published)).toThrow(/no code-server release on npm at or after 4.200.0/);
  });
});
