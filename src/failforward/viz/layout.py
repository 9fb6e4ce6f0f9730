"""The Foxglove layout of the live view's topics, built with ``foxglove.layouts`` (written to
:data:`~failforward.viz.LAYOUT_PATH` by ``tools/write_foxglove_layout.py``; a test keeps the file current).

Left: a 3-D panel in the world frame (tool paths of each new chunk, the supervisor's latest answer as a label)
above the head camera and the supervisor's annotated frame. Right: λ_t per chunk, joint positions, the
readable log (episodes, answers, recovery) and the raw JSON of recovery events, answers and episodes.
"""

from __future__ import annotations

import json
from typing import Any

import foxglove.layouts as fl

from failforward.record import topics
from failforward.viz.chunk_preview import PREVIEW_FRAME
from failforward.viz.publisher import ANNOTATED, CHUNK_PREVIEW, EPISODE, LOG, SCENE, SYMBOLS

HEAD_CAMERA = "top"
"""The camera the layout shows (the supervisor's head camera in every preset)."""


def build_layout(camera: str = HEAD_CAMERA) -> fl.Layout:
    """The live view's layout; ``camera`` names the camera shown next to the annotated frame."""
    left = fl.SplitContainer(
        direction="column",
        items=[
            fl.SplitItem(proportion=3, content=_scene()),
            fl.SplitItem(
                proportion=2,
                content=fl.SplitContainer(
                    direction="row",
                    items=[
                        fl.SplitItem(content=_image(topics.camera_topic(camera), f"camera {camera}")),
                        fl.SplitItem(content=_image(ANNOTATED, "supervisor: symbols on the frame it saw")),
                    ],
                ),
            ),
        ],
    )
    right = fl.SplitContainer(
        direction="column",
        items=[
            fl.SplitItem(content=_guidance_plot()),
            fl.SplitItem(content=_joint_plot()),
            fl.SplitItem(
                content=fl.LogPanel(config=fl.LogConfig(topic_to_render=LOG), title="episodes, answers, recovery")
            ),
            fl.SplitItem(content=_raw_tabs()),
        ],
    )
    return fl.Layout(
        content=fl.SplitContainer(
            direction="row", items=[fl.SplitItem(proportion=3, content=left), fl.SplitItem(proportion=2, content=right)]
        )
    )


def layout_json(camera: str = HEAD_CAMERA) -> str:
    """The layout as the indented JSON file Foxglove imports (Layouts → Import from file)."""
    return json.dumps(json.loads(build_layout(camera).to_json()), indent=2) + "\n"


def layout_topics(layout: dict[str, Any]) -> set[str]:
    """Every topic a layout (as parsed JSON) names: image topics, 3-D topics, plot and raw-message paths, logs."""
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("imageTopic", "topicToRender") and isinstance(value, str):
                    found.add(value)
                elif key in ("value", "topicPath") and isinstance(value, str) and value.startswith("/"):
                    found.add(value.split(".")[0])
                elif key == "topics" and isinstance(value, dict):
                    found.update(value)
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(layout)
    return found


def _scene() -> fl.ThreeDeePanel:
    config = fl.ThreeDeeConfig(
        follow_tf=PREVIEW_FRAME,
        topics={
            CHUNK_PREVIEW: fl.BaseRendererSceneUpdateTopicSettings(visible=True),
            SCENE: fl.BaseRendererSceneUpdateTopicSettings(visible=True),
        },
        layers={"grid": fl.BaseRendererGridLayerSettings(frame_id=PREVIEW_FRAME, size=2.0, divisions=20)},
    )
    return fl.ThreeDeePanel(config=config, title="tool paths of the next chunk (world frame)")


def _image(topic: str, title: str) -> fl.ImagePanel:
    return fl.ImagePanel(config=fl.ImageConfig(image_mode=fl.ImageModeConfig(image_topic=topic)), title=title)


def _guidance_plot() -> fl.PlotPanel:
    paths = [
        fl.PlotSeries(value=f"{topics.GUIDANCE}.{field}", label=f"λ_t {field}") for field in ("mean", "max", "final")
    ]
    return fl.PlotPanel(config=fl.PlotConfig(paths=paths, show_legend=True), title="failure guidance λ_t per chunk")


def _joint_plot() -> fl.PlotPanel:
    series = fl.PlotSeries(value=f"{topics.JOINT_STATES}.joints[:].position", array_expansion="byIndex")
    return fl.PlotPanel(config=fl.PlotConfig(paths=[series], show_legend=True), title="joint positions (measured)")


def _raw_tabs() -> fl.TabContainer:
    raw = [(topics.RECOVERY_EVENT, "recovery"), (SYMBOLS, "supervisor"), (EPISODE, "episode")]
    return fl.TabContainer(
        tabs=[
            fl.TabItem(title=title, content=fl.RawMessagesPanel(config=fl.RawMessagesConfig(topic_path=topic)))
            for topic, title in raw
        ]
    )
