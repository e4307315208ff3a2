"""The weather agent for v3 thread streams: its tool call streams as one chunk.

The v3 ``messages`` channel builds a tool call from its first chunk's arguments, so the
runs-protocol agent (``agent.py``, which splits them over two chunks) would end with an
invalid tool call; here the call is whole and the answer still streams token by token.
"""

from agent import FakeWeatherModel, build

graph = build(FakeWeatherModel(whole_call=True))
