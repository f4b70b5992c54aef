import {
  type EmbeddedProxy,
  type Origin,
  type ProxyOptions,
  startOrigin,
  startProxy,
} from "@x/testkit";

export interface World {
  http: Origin;
  https: Origin;
  hosts: Record<string, number>;
  close(): Promise<void>;
}

/** example.com, www.example.com and httpbin.org on loopback, over HTTP and HTTPS. */
export async function startWorld(): Promise<World> {
  const http = await startOrigin({
    handler: (req, res, body) => {
      res.setHeader("Content-Type", "application/json");
      res.end(
        JSON.stringify({
          host: req.headers.host,
          url: req.url,
          headers: req.rawHeaders,
          body: body.toString(),
        }),
      );
    },
  });
  const https = await startOrigin({
    tls: true,
    names: ["example.com", "www.example.com", "httpbin.org"],
    handler: (req, res) => {
      res.setHeader("Content-Type", "application/json");
      res.end(
        JSON.stringify({
          host: req.headers.host,
          url: req.url,
          headers: req.rawHeaders,
          tls: true,
        }),
      );
    },
  });
  const hosts: Record<string, number> = {};
  for (const name of ["example.com", "www.example.com", "httpbin.org"]) {
    hosts[`${name}:80`] = http.port;
    hosts[`${name}:443`] = https.port;
  }
  return {
    http,
    https,
    hosts,
    async close() {
      await http.close();
      await https.close();
    },
  };
}

export function proxyFor(
  world: World,
  options: Omit<ProxyOptions, "hosts"> = {},
): Promise<EmbeddedProxy> {
  return startProxy({ ...options, hosts: world.hosts });
}
