// A chat page on `useStream` of `@langchain/react` (the v3 thread protocol).
// Query: ?api=<API URL>&assistant=<graph>[&thread=<id>].
import React from "react";
import { createRoot } from "react-dom/client";
import { useStream } from "@langchain/react";
import { Chat, params, saveThreadId, savedThreadId, status, submittedInput } from "./chat.jsx";

const assistantId = params.get("assistant") ?? "agent";

function App() {
  const [threadId, setThreadId] = React.useState(savedThreadId());
  const stream = useStream({
    apiUrl: params.get("api"),
    apiKey: null,
    assistantId,
    threadId,
    onThreadId: (id) => {
      saveThreadId(id);
      setThreadId(id);
    },
  });
  return (
    <Chat
      hook="v3"
      messages={stream.messages ?? []}
      values={stream.values}
      interrupt={stream.interrupt}
      threadId={stream.threadId ?? threadId}
      state={status(stream)}
      onSubmit={(text) => stream.submit(submittedInput(assistantId, text))}
      onStop={() => stream.stop()}
      onApprove={() => stream.respond("approved")}
    />
  );
}

createRoot(document.getElementById("root")).render(<App />);
