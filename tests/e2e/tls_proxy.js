// A TLS front for an in-cluster MCP server, for the kind e2e suite: it serves HTTPS
// with a certificate from the suite's throw-away CA, demands a client certificate
// signed by that CA (mutual TLS), and relays each request, streamed both ways, to a
// plain-HTTP upstream. Node's standard library only.
//
//   TLS_DIR=/etc/tls UPSTREAM=more:3001 PORT=8443 node tls_proxy.js
//
// TLS_DIR holds tls.crt and tls.key (the server's) and ca.crt (the CA that signs both
// the server's and the clients' certificates).
"use strict";
const fs = require("node:fs");
const http = require("node:http");
const https = require("node:https");

const dir = process.env.TLS_DIR || "/etc/tls";
const [host, port] = (process.env.UPSTREAM || "more:3001").split(":");
const read = (file) => fs.readFileSync(`${dir}/${file}`);

const server = https.createServer(
  {
    cert: read("tls.crt"),
    key: read("tls.key"),
    ca: read("ca.crt"),
    requestCert: true,
    rejectUnauthorized: true,
    ALPNProtocols: ["http/1.1"],
  },
  (request, response) => {
    const headers = { ...request.headers, host: `${host}:${port}` };
    const relay = http.request(
      { host, port: Number(port), path: request.url, method: request.method, headers },
      (upstream) => {
        response.writeHead(upstream.statusCode, upstream.headers);
        upstream.pipe(response);
      },
    );
    relay.on("error", (error) => {
      if (!response.headersSent) response.writeHead(502);
      response.end(String(error));
    });
    request.pipe(relay);
  },
);
server.listen(Number(process.env.PORT || 8443), () => {
  const peer = server.address();
  console.log(`tls proxy on :${peer.port} -> http://${host}:${port} (client certificates required)`);
});
