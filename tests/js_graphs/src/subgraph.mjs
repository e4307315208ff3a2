// A parent graph whose middle node is a compiled subgraph sharing the `foo` key.
import { Annotation, START, StateGraph } from "@langchain/langgraph";

const Sub = Annotation.Root({ foo: Annotation(), bar: Annotation() });
const child = new StateGraph(Sub)
  .addNode("child_1", () => ({ bar: "bar" }))
  .addNode("child_2", (state) => ({ foo: `${state.foo}${state.bar}` }))
  .addEdge(START, "child_1")
  .addEdge("child_1", "child_2")
  .compile();

const Parent = Annotation.Root({ foo: Annotation() });
export const graph = new StateGraph(Parent)
  .addNode("parent_1", (state) => ({ foo: `hi! ${state.foo}` }))
  .addNode("child", child)
  .addEdge(START, "parent_1")
  .addEdge("parent_1", "child")
  .compile();
