// A chat page on the classic `useStream` of `@langchain/langgraph-sdk/react` (runs streams).
// Query: ?api=<API URL>&assistant=<graph>[&thread=<id>][&history=1]. Resumable runs, rejoined
// on reload; `history=1` reads the thread's history (POST …/history) instead of its state.
import React from "react";
import { createRoot } from "react-dom/client";
import { useStream } from "@langchain/langgraph-sdk/react";
import { Chat, params, saveThreadId, savedThreadId, status, submittedInput } from "./chat.jsx";

const assistantId = params.get("assistant") ?? "agent";

function App() {
  const [threadId, setThreadId] = React.useState(savedThreadId());
  const stream = useStream({
    apiUrl: params.get("api"),
    apiKey: null,
    assistantId,
    messagesKey: "messages",
    threadId,
    onThreadId: (id) => {
      saveThreadId(id);
      setThreadId(id);
    },
    reconnectOnMount: true,
    fetchStateHistory: params.get("history") === "1",
  });
  return (
    <Chat
      hook="classic"
      messages={stream.messages ?? []}
      values={stream.values}
      interrupt={stream.interrupt}
      threadId={threadId}
      state={status(stream)}
      onSubmit={(text) => stream.submit(submittedInput(assistantId, text))}
      onStop={() => stream.stop()}
      onApprove={() => stream.submit(null, { command: { resume: "approved" } })}
    />
  );
}

createRoot(document.getElementById("root")).render(<App />);
