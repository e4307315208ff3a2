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
// all-channel subscription until the run ends, then thread.output; at an interrupt the SDK
// ends the subscription's loop (it pauses it): with "respond" the step answers the interrupt
// and reads the continuation in a new loop. It returns {events, rounds (the events of each
// loop), output, interrupts, runId}.
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
  // One round per `for await`: the SDK pauses its subscriptions at an interrupt (the loop
  // ends) and resumes them on respond, when a new loop gets the continuation.
  const rounds = [];
  const round = async () => {
    const events = [];
    rounds.push(events);
    for await (const event of subscription) {
      events.push(event);
      if (isRunEnd(event)) return true;
    }
    return false;
  };
  let collected = round();
  const started = await within(thread.run.start({ input: spec.input }), "run.start");
  const interrupts = [];
  let ended = await within(collected, "the run's end or interrupt on the subscription");
  while (!ended && spec.respond !== undefined && rounds.length < 5) {
    await within(
      (async () => {
        while (!thread.interrupted) await new Promise((resolve) => setTimeout(resolve, 10));
      })(),
      "the interrupt",
    );
    // Copied: respond clears the SDK's own list.
    const pending = thread.interrupts.map((item) => ({ ...item }));
    interrupts.push(...pending);
    await thread.input.respond({
      interrupt_id: pending[0].interruptId,
      namespace: pending[0].namespace,
      response: spec.respond,
    });
    collected = round();
    ended = await within(collected, "the resumed run's end on the subscription");
  }
  const output = await within(thread.output, "thread.output");
  await within(thread.close(), "thread.close()");
  return {
    events: rounds.flat(),
    rounds,
    output,
    interrupts,
    runId: started?.run_id ?? started?.result?.run_id,
  };
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
