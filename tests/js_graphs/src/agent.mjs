// The weather agent: the fake model calls `search`, reads the result and answers. The
// answer's token count comes from `configurable.tokens` (default 12).
import { tool } from "@langchain/core/tools";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { ToolNode, toolsCondition } from "@langchain/langgraph/prebuilt";
import { z } from "zod";
import { FakeWeatherModel } from "./fake_model.mjs";

const WEATHER = "Los Angeles: sunny, 72 degrees Fahrenheit, light breeze from the west.";

const search = tool(async () => WEATHER, {
  name: "search",
  description: "Look up the current weather.",
  schema: z.object({ query: z.string() }),
});

async function agent(state, config) {
  const model = new FakeWeatherModel({ tokens: config?.configurable?.tokens ?? 12 });
  return { messages: [await model.invoke(state.messages, config)] };
}

export const graph = new StateGraph(MessagesAnnotation)
  .addNode("agent", agent)
  .addNode("tools", new ToolNode([search]))
  .addEdge(START, "agent")
  .addConditionalEdges("agent", toolsCondition, ["tools", END])
  .addEdge("tools", "agent")
  .compile();
