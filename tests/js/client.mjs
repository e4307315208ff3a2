// Drives @langchain/langgraph-sdk through a plan of SDK calls and prints what it saw as JSON.
//
// Usage: node client.mjs PLAN_JSON
//   {"apiUrl": "http://127.0.0.1:PORT", "headers": {...}, "steps": [
//     {"op": "searchAssistants"},
//     {"op": "createThread"},
//     {"op": "stream", "stateless": false, "assistant": "joke", "payload": {...}, "stopAfter": 2},
//     {"op": "joinStream", "afterPart": 1, "streamMode": ["values"]},
//     {"op": "getState"}, {"op": "getRun"}, {"op": "listRuns"},
//     {"op": "threadStream", "assistant": "agent", "input": {...}, "transport": "sse",
//      "respond": "yes"}
//   ]}
// "stream" runs on the thread of the last createThread unless "stateless" is true; "payload"
// is the SDK's own (camelCase) options. "joinStream" joins the last streamed run with
// lastEventId set to the id of part "afterPart" of that stream.
// "threadStream" is a v3 session (client.threads.stream): run.start, every event of an
// all-channel subscription until the run ends (answering an interrupt with "respond"), then
// thread.output; it returns {events, output, interrupts, runId}.
// Prints {"steps": [{"op", "result"?, "parts"?}, ...]}; parts are {id, event, data} as the SDK
// yields them. Exits 1 with {"error": ...} on the first failing call.
import { Client } from "@langchain/langgraph-sdk";

const plan = JSON.parse(process.argv[2]);
const client = new Client({
  apiUrl: plan.apiUrl,
  apiKey: null,
  defaultHeaders: plan.headers ?? {},
  callerOptions: { maxRetries: 0 },
});

let threadId = null;
let lastRun = null; // {threadId, runId, parts}

async function collect(iterable, stopAfter) {
  const parts = [];
  for await (const part of iterable) {
    parts.push({ id: part.id ?? null, event: part.event, data: part.data });
    if (stopAfter != null && parts.length >= stopAfter) break;
  }
  return parts;
}

const CHANNELS = ["values", "updates", "messages", "tools", "lifecycle", "input", "tasks", "custom"];

function isRunEnd(event) {
  return (
    event.method === "lifecycle" &&
    (event.params?.namespace ?? []).length === 0 &&
    ["completed", "failed"].includes(event.params?.data?.event)
  );
}

// A step that does not finish fails with what it was waiting for, instead of hanging.
function within(promise, what, ms = 30000) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function threadStream(spec) {
  const thread = client.threads.stream({
    assistantId: spec.assistant,
    transport: spec.transport ?? "sse",
  });
  const subscription = await thread.subscribe({ channels: CHANNELS });
  const events = [];
  const collected = (async () => {
    for await (const event of subscription) {
      events.push(event);
      if (isRunEnd(event)) return;
    }
  })();
  const started = await within(thread.run.start({ input: spec.input }), "run.start");
  let interrupts = [];
  if (spec.respond !== undefined) {
    const interrupted = (async () => {
      while (!thread.interrupted) await new Promise((resolve) => setTimeout(resolve, 10));
    })();
    await within(interrupted, "the interrupt");
    interrupts = thread.interrupts;
    const [pending] = interrupts;
    await thread.input.respond({
      interrupt_id: pending.interruptId,
      namespace: pending.namespace,
      response: spec.respond,
    });
  }
  await within(collected, "the run's end on the subscription");
  const output = await within(thread.output, "thread.output");
  await within(thread.close(), "thread.close()");
  return { events, output, interrupts, runId: started?.run_id ?? started?.result?.run_id };
}

async function step(spec) {
  switch (spec.op) {
    case "searchAssistants":
      return { result: await client.assistants.search(spec.query ?? {}) };
    case "createThread": {
      const thread = await client.threads.create(spec.payload ?? {});
      threadId = thread.thread_id;
      return { result: thread };
    }
    case "stream": {
      const onThread = spec.stateless ? null : threadId;
      let created = null;
      const payload = { ...(spec.payload ?? {}), onRunCreated: (meta) => (created = meta) };
      const parts = await collect(
        client.runs.stream(onThread, spec.assistant, payload),
        spec.stopAfter,
      );
      const metadata = parts.find((part) => part.event === "metadata");
      lastRun = {
        threadId: created?.thread_id ?? onThread,
        runId: metadata?.data?.run_id ?? created?.run_id,
        parts,
      };
      return { parts, created };
    }
    case "joinStream": {
      const lastEventId = lastRun.parts[spec.afterPart].id;
      const parts = await collect(
        client.runs.joinStream(lastRun.threadId, lastRun.runId, {
          lastEventId,
          streamMode: spec.streamMode,
        }),
      );
      return { parts, lastEventId };
    }
    case "getState":
      return { result: await client.threads.getState(threadId) };
    case "getRun":
      return { result: await client.runs.get(lastRun.threadId, lastRun.runId) };
    case "listRuns":
      return { result: await client.runs.list(threadId) };
    case "threadStream":
      return await threadStream(spec);
    default:
      throw new Error(`unknown op ${JSON.stringify(spec.op)}`);
  }
}

const steps = [];
try {
  for (const spec of plan.steps) {
    steps.push({ op: spec.op, ...(await step(spec)) });
  }
} catch (error) {
  process.stdout.write(JSON.stringify({ steps, error: String(error?.message ?? error) }));
  process.exit(1);
}
process.stdout.write(JSON.stringify({ steps }));
