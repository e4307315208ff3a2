// Five steps 100 ms apart, for joins that start while the run is still going.
import { Annotation, START, StateGraph } from "@langchain/langgraph";

const State = Annotation.Root({ step: Annotation() });
const pause = () => new Promise((resolve) => setTimeout(resolve, 100));

let builder = new StateGraph(State);
for (let i = 1; i <= 5; i += 1) {
  builder = builder.addNode(`step_${i}`, async () => {
    await pause();
    return { step: i };
  });
}
builder = builder.addEdge(START, "step_1");
for (let i = 1; i < 5; i += 1) builder = builder.addEdge(`step_${i}`, `step_${i + 1}`);
export const graph = builder.compile();
