"""streamcassette's pytest plugin (installed as ``streamcassette_pytest``).

The hooks live in :mod:`streamcassette_pytest.plugin` (the ``pytest11`` entry point); the
names tests may import are re-exported here.
"""

from ._fixtures import StreamCassette
from ._syrupy import StreamSnapshotExtension, render_stream

__all__ = ["StreamCassette", "StreamSnapshotExtension", "render_stream"]
