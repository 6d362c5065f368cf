// An example consumer of newswatch alerts in JavaScript: a durable JetStream consumer (the
// official `nats` package) that reads each alert as a CloudEvent (the `cloudevents` SDK, which
// validates it) and prints it once, with its matched words highlighted.
//
//   npm ci && node consumer.mjs --server nats://127.0.0.1:4222 --creds ../../../newswatch-data/credentials/subscriber.creds
//
// Options: --server URL ($NATS_URL), --creds FILE ($NATS_CREDS), --stream NAME, --subject-prefix P,
// --durable NAME (the server keeps the consumer's place under it), --count N (exit after N alerts).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { CloudEvent } from "cloudevents";
import { AckPolicy, DeliverPolicy, connect, credsAuthenticator } from "nats";

const { values: opts } = parseArgs({
  options: {
    server: { type: "string", short: "s", default: process.env.NATS_URL ?? "nats://127.0.0.1:4222" },
    creds: { type: "string", default: process.env.NATS_CREDS ?? "" },
    stream: { type: "string", default: "NEWSWATCH_ALERTS" },
    "subject-prefix": { type: "string", default: "newswatch" },
    durable: { type: "string", default: "example_node" },
    count: { type: "string", default: "0" },
  },
});
const count = Number.parseInt(opts.count, 10);

// highlight puts the hits of the title between ** and **. A hit's start_utf16 and end_utf16 are
// offsets in UTF-16 code units, which is how JavaScript indexes strings (start and end count
// bytes of the UTF-8 text, for languages that index bytes).
function highlight(data) {
  const title = data.item.title ?? "";
  const spans = (data.hits ?? [])
    .filter((h) => h.field === "title" && h.start_utf16 < h.end_utf16 && h.end_utf16 <= title.length)
    .sort((a, b) => a.start_utf16 - b.start_utf16);
  let out = "";
  let at = 0;
  for (const h of spans) {
    if (h.start_utf16 < at) continue; // overlaps the previous one
    out += title.slice(at, h.start_utf16) + "**" + title.slice(h.start_utf16, h.end_utf16) + "**";
    at = h.end_utf16;
  }
  return out + title.slice(at);
}

const nc = await connect({
  servers: opts.server.split(","),
  name: "newswatch example consumer (node)",
  authenticator: opts.creds ? credsAuthenticator(readFileSync(opts.creds)) : undefined,
});
const jsm = await nc.jetstreamManager();
await jsm.consumers.add(opts.stream, {
  durable_name: opts.durable,
  filter_subject: `${opts["subject-prefix"]}.alert.>`,
  ack_policy: AckPolicy.Explicit,
  deliver_policy: DeliverPolicy.All,
});
const consumer = await nc.jetstream().consumers.get(opts.stream, opts.durable);
const messages = await consumer.consume();
console.error(`consumer: reading ${opts.stream} as ${opts.durable}`);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => messages.close());

// JetStream delivers an alert again when its acknowledgement was lost: remember the ids seen.
const seen = new Set();
for await (const m of messages) {
  let ev;
  try {
    ev = new CloudEvent(m.json()); // validates the CloudEvents attributes
  } catch (err) {
    console.error(`consumer: skipping ${m.subject}: not a CloudEvent: ${err.message ?? err}`);
    m.term();
    continue;
  }
  if (ev.type === "io.newswatch.alert.v1" && !seen.has(ev.id)) {
    seen.add(ev.id);
    console.log(`${ev.id} ${ev.data.rule.id}/${ev.data.feed.id}: ${highlight(ev.data)}\n  ${ev.data.item.link ?? ""}`);
  }
  m.ack();
  if (count > 0 && seen.size >= count) break;
}
await nc.drain();
