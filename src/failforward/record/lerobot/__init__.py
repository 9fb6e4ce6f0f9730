"""LeRobot v3.0 dataset export of recorded episodes (``failforward export-lerobot``); needs pyarrow.

Example:
    >>> from failforward.record.lerobot import export_lerobot
    >>> result = export_lerobot([Path("runs/20261201-211402-sim_insertion")], Path("datasets/insertion"))
    >>> print(result)   # episodes, successes and failures, frames, skipped files
"""

from failforward.record.lerobot.export import ExportResult, export_lerobot
from failforward.record.lerobot.sources import Skipped
from failforward.record.lerobot.spec import LeRobotExportError

__all__ = ["ExportResult", "LeRobotExportError", "Skipped", "export_lerobot"]
