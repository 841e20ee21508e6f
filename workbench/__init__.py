"""The workbench side: CLI and demo project (later: embedded Argilla, maps, widgets).

Importing this package starts nothing.
"""

from ._demo import build_demo, demo_data_dir

__all__ = ["build_demo", "demo_data_dir"]
