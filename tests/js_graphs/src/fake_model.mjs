// A fake chat model that streams like a real provider, offline and deterministic in content:
// first a `search` tool call (with a fresh `call_` + 24 alphanumerics id, as OpenAI mints them),
// then, once a tool result is in the conversation, the answer split into `tokens` chunks.
import { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, AIMessageChunk } from "@langchain/core/messages";
import { ChatGenerationChunk } from "@langchain/core/outputs";
import { randomInt } from "node:crypto";

export const QUERY = "weather in los angeles";
export const ANSWER = "The weather in Los Angeles is sunny and 72 degrees.";

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function toolCallId() {
  let id = "call_";
  for (let i = 0; i < 24; i += 1) id += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return id;
}

// The answer cut into `count` pieces of nearly equal length, joined back it is the answer.
export function split(text, count) {
  const pieces = [];
  const n = Math.max(1, Math.min(count, text.length));
  for (let i = 0; i < n; i += 1) {
    pieces.push(text.slice(Math.floor((i * text.length) / n), Math.floor(((i + 1) * text.length) / n)));
  }
  return pieces;
}

export class FakeWeatherModel extends BaseChatModel {
  constructor(fields = {}) {
    super(fields);
    this.tokens = fields.tokens ?? 12;
  }

  _llmType() {
    return "fake-weather-model";
  }

  bindTools() {
    return this;
  }

  chunks(messages) {
    const last = messages[messages.length - 1];
    if (last._getType() === "tool") {
      return split(ANSWER, this.tokens).map((token) => new AIMessageChunk({ content: token }));
    }
    const args = JSON.stringify({ query: QUERY });
    const half = Math.floor(args.length / 2);
    return [
      new AIMessageChunk({
        content: "",
        tool_call_chunks: [{ name: "search", args: args.slice(0, half), id: toolCallId(), index: 0 }],
      }),
      new AIMessageChunk({
        content: "",
        tool_call_chunks: [{ args: args.slice(half), index: 0 }],
      }),
    ];
  }

  async _generate(messages) {
    const chunks = this.chunks(messages);
    let merged = chunks[0];
    for (const chunk of chunks.slice(1)) merged = merged.concat(chunk);
    const message = new AIMessage({ content: merged.content, tool_calls: merged.tool_calls });
    return { generations: [{ text: String(merged.content), message }] };
  }

  async *_streamResponseChunks(messages, _options, runManager) {
    for (const message of this.chunks(messages)) {
      const text = typeof message.content === "string" ? message.content : "";
      const chunk = new ChatGenerationChunk({ message, text });
      yield chunk;
      await runManager?.handleLLMNewToken(text, undefined, undefined, undefined, undefined, { chunk });
    }
  }
}
