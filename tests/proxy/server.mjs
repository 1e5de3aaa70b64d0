// The REST rate-limit proxy an operator runs between the bot processes and Discord, as the
// end-to-end tests start it: @discordjs/proxy in its queueing mode (no rejectOnRateLimit), so
// a 429 from upstream is waited out here and the bot never sees it. In reject mode the proxy
// answers 429 without a Via header, which discord.py takes for a Cloudflare ban.
//
//   node tests/proxy/server.mjs UPSTREAM [PORT] [HOST]
//
// UPSTREAM is the origin to forward to (the fake Discord, e.g. http://127.0.0.1:8080); the
// proxy strips the /api/vN of each incoming path and sends UPSTREAM/api/v10/<route>. PORT 0
// (the default) picks a free port; HOST defaults to 127.0.0.1 (the tests: loopback only).
// Prints one line, "listening on PORT", once it accepts.
import { createServer } from "node:http";
import { proxyRequests } from "@discordjs/proxy";
import { REST } from "@discordjs/rest";

const [upstream, portArg = "0", host = "127.0.0.1"] = process.argv.slice(2);
if (!upstream || !/^https?:\/\//.test(upstream)) {
  console.error("usage: node server.mjs http://UPSTREAM-HOST:PORT [PORT] [HOST]");
  process.exit(2);
}

const rest = new REST({ api: `${upstream.replace(/\/+$/, "")}/api`, version: "10" });
const handle = proxyRequests(rest);

// proxyRequests hands the incoming request stream to @discordjs/rest as the body, and a
// stream can be read once: the retry after a 429 would go upstream with an empty body (the
// fake Discord then answers 400). So read the body first and give it as an iterable that
// yields the whole body again on every attempt.
async function replayable(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  return {
    method: req.method,
    url: req.url,
    headers: req.headers,
    async *[Symbol.asyncIterator]() {
      if (body.length) yield body;
    },
  };
}

const server = createServer((req, res) => {
  // proxyRequests rethrows what it does not recognise (the upstream refusing connections);
  // without this catch node would crash, and the bot would see its proxy vanish.
  replayable(req).then((request) => handle(request, res)).catch((error) => {
    console.error(`proxy: ${req.method} ${req.url}: ${error?.message ?? error}`);
    if (!res.headersSent) {
      res.statusCode = 502;
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ message: "502: Bad Gateway (upstream unreachable)", code: 0 }));
    } else {
      res.end();
    }
  });
});

server.listen(Number(portArg), host, () => {
  console.log(`listening on ${server.address().port}`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
