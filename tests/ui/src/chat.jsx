// The chat view both pages share: messages, tool calls, tool results, status, a Submit box
// and an Approve button, with stable `data-testid` selectors for the browser tests.
import React, { useState } from "react";

export const params = new URLSearchParams(window.location.search);

// Where the page keeps its thread across reloads: the page URL's `thread` query parameter.
export function savedThreadId() {
  return params.get("thread");
}

export function saveThreadId(threadId) {
  const url = new URL(window.location.href);
  url.searchParams.set("thread", threadId);
  window.history.replaceState(null, "", url);
}

// The input a submit sends: a human message with an id the page mints (as chat UIs do), or,
// for graphs without messages, an empty object.
export function submittedInput(assistantId, text) {
  if (!assistantId.startsWith("agent")) return {};
  return { messages: [{ id: crypto.randomUUID(), type: "human", content: text }] };
}

function messageType(message) {
  if (typeof message.getType === "function") return message.getType();
  if (typeof message._getType === "function") return message._getType();
  return message.type;
}

function text(content) {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((part) => (typeof part === "string" ? part : (part.text ?? ""))).join("");
  }
  return JSON.stringify(content ?? "");
}

function Message({ message }) {
  const type = messageType(message);
  const toolCalls = message.tool_calls ?? [];
  return (
    <li data-testid="message" data-type={type} data-id={message.id ?? ""}>
      <span className="role">{type}</span>{" "}
      <span data-testid="content">{text(message.content)}</span>
      {toolCalls.map((call, index) => (
        <div key={call.id ?? index} data-testid="tool-call" data-name={call.name ?? ""}>
          {call.name}({JSON.stringify(call.args ?? {})})
        </div>
      ))}
      {type === "tool" ? (
        <div data-testid="tool-result" data-name={message.name ?? ""}>
          {text(message.content)}
        </div>
      ) : null}
    </li>
  );
}

export function status({ isLoading, interrupt, error }) {
  if (error != null) return `error: ${error?.message ?? String(error)}`;
  if (interrupt != null) return "interrupted";
  return isLoading ? "loading" : "idle";
}

export function Chat({
  hook,
  messages,
  values,
  interrupt,
  state,
  onSubmit,
  onApprove,
  onStop,
  threadId,
}) {
  const [draft, setDraft] = useState("");
  return (
    <main data-hook={hook}>
      <p>
        status: <span data-testid="status">{state}</span> thread:{" "}
        <span data-testid="thread">{threadId ?? ""}</span>
      </p>
      <ol data-testid="messages">
        {messages.map((message, index) => (
          <Message key={message.id ?? index} message={message} />
        ))}
      </ol>
      <pre data-testid="values">{JSON.stringify(values ?? {})}</pre>
      {interrupt != null ? (
        <div data-testid="interrupt">
          <span data-testid="interrupt-value">{JSON.stringify(interrupt.value ?? null)}</span>
          <button type="button" data-testid="approve" onClick={onApprove}>
            Approve
          </button>
        </div>
      ) : null}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          onSubmit(draft);
          setDraft("");
        }}
      >
        <input data-testid="input" value={draft} onChange={(event) => setDraft(event.target.value)} />
        <button type="submit" data-testid="submit">
          Submit
        </button>
        {state === "loading" ? (
          <button type="button" data-testid="stop" onClick={onStop}>
            Stop
          </button>
        ) : null}
      </form>
    </main>
  );
}
