// The guide's hosts, on loopback: example.com, www.example.com and httpbin.org over HTTP
// and HTTPS (certificates from a throwaway CA made now), plus the embedded proxy.
import { startOrigin, startProxy, testCA } from "@x/testkit";

const NAMES = ["example.com", "www.example.com", "httpbin.org"];

function handler(scheme) {
  return (req, res) => {
    const host = String(req.headers.host ?? "").replace(/:\d+$/, "");
    if (req.url === "/json") {
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ slideshow: { title: "Sample Slide Show", host } }));
      return;
    }
    res.setHeader("Content-Type", "text/html");
    res.end(`<!doctype html><title>${host}</title><p>${scheme}://${host} on loopback</p>\n`);
  };
}

async function listen(options, preferredPort) {
  if (preferredPort !== undefined) {
    try {
      return await startOrigin({ ...options, port: preferredPort });
    } catch {
      // Taken, or not allowed: any free port will do.
    }
  }
  return startOrigin(options);
}

/**
 * Starts the world. With `standardPorts`, origins try ports 80 and 443 (for an outside
 * proxy that resolves the names to 127.0.0.1); `base(scheme)` gives the URL prefix.
 */
export async function startWorld({ standardPorts = false, proxyPort } = {}) {
  const http = await listen({ handler: handler("http") }, standardPorts ? 80 : undefined);
  const https = await listen(
    { tls: true, names: NAMES, handler: handler("https") },
    standardPorts ? 443 : undefined,
  );
  const hosts = {};
  for (const name of NAMES) {
    hosts[`${name}:80`] = http.port;
    hosts[`${name}:443`] = https.port;
  }
  let proxy;
  try {
    proxy = await startProxy({ hosts, port: proxyPort });
  } catch {
    proxy = await startProxy({ hosts });
  }
  const port = (scheme) => (scheme === "http" ? http.port : https.port);
  return {
    proxy,
    ca: testCA().cert,
    /** "https://example.com" or, off the standard ports, "https://example.com:PORT". */
    url(scheme, host, path = "/") {
      const p = port(scheme);
      const standard = (scheme === "http" && p === 80) || (scheme === "https" && p === 443);
      return `${scheme}://${host}${standard || !standardPorts ? "" : `:${p}`}${path}`;
    },
    async close() {
      await proxy.close();
      await http.close();
      await https.close();
    },
  };
}
