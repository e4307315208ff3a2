"""Re-record the cassettes bundled under cassettes/ from the test graphs.

Starts a real `langgraph dev` on a free loopback port and drives `streamcassette record`
for each seed example. Run: .venv/bin/python scripts/record_bundled.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from streamcassette.devserver import LangGraphDevServer

ROOT = Path(__file__).resolve().parent.parent
WEATHER = {"messages": [{"role": "user", "content": "what's the weather in la"}]}

# cassette name -> (assistant, input, extra `streamcassette record` options)
BUNDLED: dict[str, tuple[str, object, list[str]]] = {
    "joke.json": ("joke", {"topic": "ice cream"}, ["--mode", "updates", "--mode", "values"]),
    "subgraph.json": ("subgraph", {"foo": "foo"}, ["--mode", "updates", "--subgraphs"]),
    "weather_agent.json": (
        "agent",
        WEATHER,
        # Tokens 20-60 ms apart, like a hosted model: real-time playback visibly streams.
        [
            "--mode",
            "updates",
            "--mode",
            "messages-tuple",
            "--config",
            json.dumps({"configurable": {"token_pacing": True}}),
        ],
    ),
}


def main() -> None:
    with LangGraphDevServer(ROOT / "tests" / "graphs" / "langgraph.json") as server:
        for name, (assistant, run_input, options) in BUNDLED.items():
            output = ROOT / "cassettes" / name
            command = [
                str(Path(sys.executable).parent / "streamcassette"),
                "record",
                server.url,
                assistant,
                "--input",
                json.dumps(run_input),
                "--output",
                str(output),
                "--quiet",
                "--force",  # replace the bundled copy
                # Only *.json ships as package data (pyproject.toml): a bundled cassette
                # must hold its frames, however big it grows.
                "--embed",
                *options,
            ]
            subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
