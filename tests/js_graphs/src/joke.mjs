// Two plain nodes: a joke about a topic, then the joke with an exclamation mark.
import { Annotation, START, StateGraph } from "@langchain/langgraph";

const State = Annotation.Root({ topic: Annotation(), joke: Annotation() });

export const graph = new StateGraph(State)
  .addNode("write", (state) => ({ joke: `A joke about ${state.topic}` }))
  .addNode("exclaim", (state) => ({ joke: `${state.joke}!` }))
  .addEdge(START, "write")
  .addEdge("write", "exclaim")
  .compile();
