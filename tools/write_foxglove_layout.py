"""Write the Foxglove layout of the live view (src/failforward/viz/layouts/failforward.json).

Run after changing failforward.viz.layout or the live view's topics: ./run python tools/write_foxglove_layout.py
tests/test_foxglove_live.py fails until the file matches.
"""

from __future__ import annotations

from failforward.viz import LAYOUT_PATH
from failforward.viz.layout import layout_json


def main() -> None:
    LAYOUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    LAYOUT_PATH.write_text(layout_json())
    print(LAYOUT_PATH)


if __name__ == "__main__":
    main()
