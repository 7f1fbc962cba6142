// Drives the official @fal-ai/client against the emulator, for tests/conformance.
//
// stdin: {"proxy_url", "key", "scenario", "args"}; stdout: one line `RESULT <json>`.
// The client reaches the emulator the way a browser app reaches fal: through its proxy protocol
// (`proxyUrl`, every request sent there with `x-fal-target-url`), here served by the emulator
// itself. In Node the proxy applies only with `when: "always"`. Upload and part URLs the storage
// answers are fetched directly, as on fal.
import { createHash } from "node:crypto";
import { createFalClient } from "@fal-ai/client";

const DEADLINE_MS = 120_000;

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const copy = (value) => JSON.parse(JSON.stringify(value));

function describeError(error) {
  return {
    name: error?.name ?? "Error",
    status: error?.status ?? null,
    message: String(error?.message ?? error),
    body: error?.body ?? null,
    fieldErrors: typeof error?.fieldErrors === "object" ? error.fieldErrors : null,
  };
}

async function capture(promise) {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error: describeError(error) };
  }
}

function pngBlob(b64) {
  return new Blob([Buffer.from(b64, "base64")], { type: "image/png" });
}

async function fetchDigest(url) {
  const response = await fetch(url);
  const bytes = Buffer.from(await response.arrayBuffer());
  return {
    status: response.status,
    size: bytes.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    contentType: response.headers.get("content-type"),
  };
}

async function pollUntilDone(fal, endpoint, requestId) {
  const statuses = [];
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const status = await fal.queue.status(endpoint, { requestId, logs: true });
    statuses.push(copy(status));
    if (status.status === "COMPLETED") return statuses;
    if (Date.now() > deadline) throw new Error(`request ${requestId} did not complete`);
    await sleep(50);
  }
}

const scenarios = {
  // queue.submit, queue.status (logs), queue.result
  async submit_poll_result(fal, { endpoint, input }) {
    const submitted = await fal.queue.submit(endpoint, { input });
    const statuses = await pollUntilDone(fal, endpoint, submitted.request_id);
    const result = await fal.queue.result(endpoint, { requestId: submitted.request_id });
    return { submitted, statuses, result };
  },

  // queue.streamStatus: iterate the SSE events, then stream.done()
  async stream_status(fal, { endpoint, input }) {
    const submitted = await fal.queue.submit(endpoint, { input });
    const stream = await fal.queue.streamStatus(endpoint, { requestId: submitted.request_id, logs: true });
    const events = [];
    for await (const event of stream) events.push(copy(event));
    const done = await stream.done();
    const result = await fal.queue.result(endpoint, { requestId: submitted.request_id });
    return { submitted, events, done, result };
  },

  // subscribe in "polling" or "streaming" mode, with logs
  async subscribe(fal, { endpoint, input, mode }) {
    const updates = [];
    let enqueued = null;
    const result = await fal.subscribe(endpoint, {
      input,
      logs: true,
      mode,
      pollInterval: 50,
      onEnqueue: (requestId) => {
        enqueued = requestId;
      },
      onQueueUpdate: (update) => updates.push(copy(update)),
    });
    const polled = await fal.queue.status(endpoint, { requestId: result.requestId, logs: true });
    return { result, updates, enqueued, polledLogs: polled.logs };
  },

  // queue.cancel of a queued request, then its status, its result and a second cancel
  async cancel(fal, { endpoint, input }) {
    const submitted = await fal.queue.submit(endpoint, { input });
    const first = await capture(fal.queue.cancel(endpoint, { requestId: submitted.request_id }));
    const status = await fal.queue.status(endpoint, { requestId: submitted.request_id, logs: true });
    const result = await capture(fal.queue.result(endpoint, { requestId: submitted.request_id }));
    const again = await capture(fal.queue.cancel(endpoint, { requestId: submitted.request_id }));
    return { submitted, first, status, result, again };
  },

  // run: the synchronous fal.run host
  async run(fal, { endpoint, input }) {
    return await fal.run(endpoint, { input });
  },

  // storage.upload of a Blob (single request, and multipart above 90 MB)
  async upload(fal, { image_b64, big_mib }) {
    const small = await fal.storage.upload(pngBlob(image_b64));
    const out = { small, smallFile: await fetchDigest(small) };
    if (big_mib) {
      const bytes = new Uint8Array(big_mib * 1024 * 1024);
      for (let i = 0; i < bytes.length; i += 4096) bytes[i] = (i / 4096) % 251;
      const big = await fal.storage.upload(new Blob([bytes], { type: "application/octet-stream" }));
      out.big = big;
      out.bigFile = await fetchDigest(big);
      out.bigSha256 = createHash("sha256").update(bytes).digest("hex");
    }
    return out;
  },

  // a Blob in the input is uploaded by the client before the submit
  async subscribe_blob(fal, { endpoint, input, image_b64 }) {
    return await fal.subscribe(endpoint, { input: { ...input, image_url: pngBlob(image_b64) }, mode: "polling", pollInterval: 50 });
  },

  // queue.submit with webhookUrl (the test's receiver counts the POSTs)
  async webhook(fal, { endpoint, input, webhook_url }) {
    const submitted = await fal.queue.submit(endpoint, { input, webhookUrl: webhook_url });
    const statuses = await pollUntilDone(fal, endpoint, submitted.request_id);
    return { submitted, final: statuses.at(-1) };
  },

  // an input the model refuses: accepted by the queue, 422 from the result
  async invalid(fal, { endpoint, input }) {
    const submitted = await fal.queue.submit(endpoint, { input });
    const final = await fal.queue.subscribeToStatus(endpoint, {
      requestId: submitted.request_id,
      mode: "polling",
      pollInterval: 50,
    });
    const result = await capture(fal.queue.result(endpoint, { requestId: submitted.request_id }));
    const subscribed = await capture(fal.subscribe(endpoint, { input, mode: "streaming" }));
    return { submitted, final, result, subscribed };
  },
};

const request = JSON.parse(await readStdin());
const fal = createFalClient({
  credentials: request.key,
  proxyUrl: { url: request.proxy_url, when: "always" },
});
const scenario = scenarios[request.scenario];
if (!scenario) throw new Error(`unknown scenario ${request.scenario}`);
const timer = setTimeout(() => {
  console.error(`scenario ${request.scenario} took more than ${DEADLINE_MS} ms`);
  process.exit(3);
}, DEADLINE_MS);
const outcome = await capture(scenario(fal, request.args ?? {}));
clearTimeout(timer);
process.stdout.write(`RESULT ${JSON.stringify(outcome)}\n`);
