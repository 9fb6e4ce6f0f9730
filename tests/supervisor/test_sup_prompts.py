"""Prompt builders: template wording, image placement, options, and input checks."""

from __future__ import annotations

import numpy as np
import pytest

from failforward.errors import FailforwardError, ShapeError
from failforward.supervisor import prompts
from failforward.supervisor.errors import PromptError
from failforward.supervisor.prompts import ImageRef
from failforward.supervisor.questions import QuestionType
from failforward.supervisor.templates import TEMPLATES

FRAMES = [np.full((24, 32, 3), i, np.uint8) for i in range(5)]
TASK = "Pick up the red cube with the right arm and hand it over to the left arm."
OPTIONS = ("Move the right gripper forward.", "Open the left gripper.", "Hold still.", "Close the right gripper.")

# The user turn of the authors' released inference example (examples/example_vifailback_infer.json), with
# its 15 "<image>" tokens and task text; our builder must reproduce it character for character.
RELEASE_TASK = (
    "Use the right arm to place the orange block into the bowl. Then, use the left arm to open the microwave "
    "door, use the right arm to put the bowl into the microwave, and finally, close the microwave door."
)
RELEASE_PROMPT = (
    "<image>" * 15 + "These images are captured by the head camera of the dual-arm robot in chronological order.\n"
    "The task is to: '" + RELEASE_TASK + "'.\n\nPlease provide a complete analysis of the robot's execution.\n\n"
    "Your analysis should follow these steps in your reasoning:\n1. First, determine if the task was completed "
    "successfully (Your answer must be only one of the three options: ['Successful' or 'Failed']).\n2. If the task "
    "execution is failed, perform **Failure Localization**: Identify the numerical position(1-N) of the key image "
    "frame just before the failure began.\n3. Next, perform **Failure Classification**: Choose one of the "
    "following failure types. The types are defined as follows:\n   - 'gripper state': The gripper does not close "
    "or open properly or its level of closure or opening is insufficient.\n   - 'gripper 6d-pose': The "
    "end-effector fails to reach its correct position or orientation.\n   - 'task planning': A subtask is skipped "
    "or the wrong target object is selected.\n   - 'human intervention': Human interference makes the task "
    "impossible to complete.\n4. Then, provide a **Low-Level Avoidance Command**: This command must be a clear "
    "natural language instruction to help the robot avoid the failure. It must include the following elements:\n"
    "   - **Target Gripper**: Specify either 'left gripper' or 'right gripper'.\n   - **Specific Action**: Choose "
    "one or more from:\n     - Move: Direction must be one of [upward, downward, left, right, forward, backward], "
    "optionally with a magnitude [slightly, significantly].\n     - Rotate: Direction must be one of [clockwise, "
    "counter-clockwise].\n     - Grasp: State must be one of [open, close].\n5. Finally, generate the **Visual "
    "Prompt Instructions** based on the low-level command.\n\nWhen generating the visual prompts, you must follow "
    "these drawing rules:\n1. Use **Straight Arrows** to indicate movement direction:\n   - The color indicates "
    "which axis the movement is related to: Red for x-axis, green for y-axis, and blue for z-axis.\n   - The "
    "spatial orientation of the arrow indicates positive/negative direction.\n   - Arrows with multiple color "
    "segments mean movement along multiple axes.\n2. Use **Rotating Arrows** to indicate rotation direction.\n3. "
    "Use **ON/OFF** text to indicate the gripper state ('ON' for open, 'OFF' for close).\n4. Use **Dual "
    "Crosshairs** to indicate that the object at the first crosshair should be aligned with the position of the "
    "second crosshair.\n5. Use a **Crosshair** to indicate the correct target object.\n6. Use a **Lock** icon to "
    "indicate that the selected object should remain stationary.\n7. Use a **Rewind** icon to indicate that the "
    "selected object should return to its previous position or state.\n\nPresent your response using the "
    "following format:\n- Your step-by-step reasoning must be enclosed in <Think></Think> tags.\n- Your final "
    "answer must be enclosed in <Answer></Answer> tags.\n- The answer block should contain the 'success "
    "detection' status, the 'keyframe', the 'low level commands', and the 'visual prompts'."
)


def _all_prompts() -> list[prompts.Prompt]:
    key = FRAMES[2]
    return [
        prompts.failure_detection(FRAMES, TASK),
        prompts.keyframe_localization(FRAMES, TASK, ["1", "2", "3", "4"]),
        prompts.subtask_localization(FRAMES, TASK, ["1. Grasp the cube.", "2. Hand over."], ["1", "2", "3", "4"]),
        prompts.failure_type_identification(FRAMES, TASK),
        prompts.low_level_avoidance(FRAMES, TASK, key, "gripper 6d-pose", OPTIONS),
        prompts.low_level_correction(FRAMES, TASK, key, "gripper state", OPTIONS),
        prompts.failure_reason(FRAMES, TASK),
        prompts.high_level_avoidance(FRAMES, TASK),
        prompts.high_level_correction(FRAMES, TASK),
        prompts.low_level_avoidance_cot(FRAMES, TASK),
        prompts.low_level_correction_cot(FRAMES, TASK),
        prompts.visual_avoidance_cot(FRAMES, TASK),
        prompts.visual_correction_cot(FRAMES, TASK),
    ]


def test_visual_avoidance_prompt_matches_the_released_training_prompt() -> None:
    frames = [np.zeros((8, 8, 3), np.uint8)] * 15
    assert prompts.visual_avoidance_cot(frames, RELEASE_TASK).as_text() == RELEASE_PROMPT


def test_every_question_type_has_a_builder_and_all_fields_are_filled() -> None:
    built = _all_prompts()
    assert {p.question for p in built} == set(QuestionType) == set(TEMPLATES)
    for prompt in built:
        assert "{" not in prompt.text and "}" not in prompt.text, prompt.question
        assert TASK in prompt.text
        refs = [s for s in prompt.segments if isinstance(s, ImageRef)]
        assert [r.index for r in refs[: len(FRAMES)]] == list(range(len(FRAMES)))
        assert all(0 <= r.index < len(prompt.images) for r in refs)


def test_frames_come_first_in_chronological_order() -> None:
    prompt = prompts.visual_correction_cot(FRAMES, TASK)
    assert all(isinstance(s, ImageRef) for s in prompt.segments[:5])
    assert [int(prompt.images[s.index][0, 0, 0]) for s in prompt.segments[:5]] == [0, 1, 2, 3, 4]
    assert prompt.as_text("<img>").startswith("<img>" * 5 + "These images are captured")


def test_multiple_choice_options_are_lettered_a_to_d() -> None:
    prompt = prompts.low_level_avoidance(FRAMES, TASK, FRAMES[1], "gripper 6d-pose", OPTIONS)
    assert prompt.question.is_multiple_choice and prompt.options == OPTIONS
    for letter, option in zip("ABCD", OPTIONS, strict=True):
        assert f"- {letter}. {option}" in prompt.text
    assert "The failure is categorized as a 'gripper 6d-pose' error." in prompt.text


def test_keyframe_image_sits_in_the_middle_of_the_low_level_question() -> None:
    prompt = prompts.low_level_correction(FRAMES, TASK, FRAMES[3], "gripper state", OPTIONS)
    position = next(i for i, s in enumerate(prompt.segments) if isinstance(s, ImageRef) and s.index == 5)
    assert prompt.segments[position + 1].startswith(" This is the keyframe after the failure happened.")
    assert prompt.images[5] is FRAMES[3] and prompt.frame_count == 5


def test_correction_frame_defaults_to_the_last_frame_and_is_written_1_based() -> None:
    assert prompts.visual_correction_cot(FRAMES, TASK).correction_frame == 4
    prompt = prompts.visual_correction_cot(FRAMES, TASK, correction_keyframe=2)
    assert prompt.correction_frame == 1
    assert "based on the frame number 2." in prompt.text


def test_task_text_with_braces_is_inserted_verbatim() -> None:
    task = "Place {the} cube at {x}."
    assert f"'{task}'" in prompts.failure_detection(FRAMES, task).text


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: prompts.failure_detection([], TASK), PromptError),
        (lambda: prompts.failure_detection([np.zeros((4, 4), np.uint8)], TASK), ShapeError),
        (lambda: prompts.failure_detection([np.zeros((4, 4, 3), np.float32)], TASK), ShapeError),
        (lambda: prompts.keyframe_localization(FRAMES, TASK, ["1", "2"]), PromptError),
        (lambda: prompts.low_level_avoidance(FRAMES, TASK, FRAMES[0], "gripper pose", OPTIONS), PromptError),
        (lambda: prompts.visual_correction_cot(FRAMES, TASK, correction_keyframe=6), PromptError),
        (lambda: prompts.visual_correction_cot(FRAMES, TASK, correction_keyframe=0), PromptError),
    ],
)
def test_bad_inputs_raise_typed_errors(call, error) -> None:
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, FailforwardError)
