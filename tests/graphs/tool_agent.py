"""The weather agent for v3 thread streams: its tool call streams as one chunk, and its tool
runs are streamed on the ``tools`` channel.

The v3 ``messages`` channel builds a tool call from its first chunk's arguments, so the
runs-protocol agent (``agent.py``, which splits them over two chunks) would end with an
invalid tool call; here the call is whole and the answer still streams token by token.
The ``tools`` channel (what ``thread.tool_calls`` reads) is opt-in per graph: LangGraph
emits ``tool-started`` / ``tool-finished`` events only for a graph compiled with
``ToolCallTransformer``.
"""

from agent import FakeWeatherModel, build
from langgraph.prebuilt import ToolCallTransformer

graph = build(FakeWeatherModel(whole_call=True), transformers=[ToolCallTransformer])
