"""The ViFailback question templates, word for word from the paper (supplement Figures 4–9).

Placeholders: ``{task_description}``, ``{failure_type}``, ``{subtasks}``, ``{correction_keyframe}`` and
``{option_a}``…``{option_d}`` are text; ``{task_image_sequence}``, ``{avoidance_keyframe_image}`` and
``{correction_keyframe_image}`` mark where images go (see :mod:`failforward.supervisor.prompts`).

Layout (line breaks, indentation of sub-bullets) follows the authors' released training prompt for the
visual avoidance CoT question (``examples/example_vifailback_infer.json`` of the ViFailback release):
images first, then the text; numbered steps one per line; sub-bullets indented by three spaces.
That released prompt says "only one of the three options: ['Successful' or 'Failed']" where the paper's
Figure 8 says "two options"; :data:`VISUAL_AVOIDANCE_COT` keeps the released wording because it is the
text ViFailback-8B was fine-tuned on. The paper's "****Successful****" (a PDF rendering of bold) is
written "**Successful**".
"""

from __future__ import annotations

from failforward.supervisor.questions import QuestionType

_HEAD = "These images are captured by the head camera of the dual-arm robot in chronological order."

_FAILURE_TYPE_DEFINITIONS = (
    "   - 'gripper state': The gripper does not close or open properly or its level of closure or opening is "
    "insufficient.\n"
    "   - 'gripper 6d-pose': The end-effector fails to reach its correct position or orientation.\n"
    "   - 'task planning': A subtask is skipped or the wrong target object is selected.\n"
    "   - 'human intervention': Human interference makes the task impossible to complete.\n"
)

_COMMAND_ELEMENTS = (
    "   - **Target Gripper**: Specify either 'left gripper' or 'right gripper'.\n"
    "   - **Specific Action**: Choose one or more from:\n"
    "     - Move: Direction must be one of [upward, downward, left, right, forward, backward], optionally with a "
    "magnitude [slightly, significantly].\n"
    "     - Rotate: Direction must be one of [clockwise, counter-clockwise].\n"
    "     - Grasp: State must be one of [open, close].\n"
)

_DRAWING_RULES = (
    "When generating the visual prompts, you must follow these drawing rules:\n"
    "1. Use **Straight Arrows** to indicate movement direction:\n"
    "   - The color indicates which axis the movement is related to: Red for x-axis, green for y-axis, and blue "
    "for z-axis.\n"
    "   - The spatial orientation of the arrow indicates positive/negative direction.\n"
    "   - Arrows with multiple color segments mean movement along multiple axes.\n"
    "2. Use **Rotating Arrows** to indicate rotation direction.\n"
    "3. Use **ON/OFF** text to indicate the gripper state ('ON' for open, 'OFF' for close).\n"
    "4. Use **Dual Crosshairs** to indicate that the object at the first crosshair should be aligned with the "
    "position of the second crosshair.\n"
    "5. Use a **Crosshair** to indicate the correct target object.\n"
    "6. Use a **Lock** icon to indicate that the selected object should remain stationary.\n"
    "7. Use a **Rewind** icon to indicate that the selected object should return to its previous position or "
    "state.\n"
)

_FOUR_OPTIONS = (
    "You only need to choose the answer from the following four options provided: [A. B. C. D.]\n\n"
    "- A. {option_a}\n"
    "- B. {option_b}\n"
    "- C. {option_c}\n"
    "- D. {option_d}"
)

_SPATIAL_PREAMBLE = (
    "Your task is to analyze the behavior of a dual-arm robot based on images provided, and to suggest "
    "adjustments to correct any failures. Your responses should specifically address spatial directions. The "
    "spatial directions are defined as follows: the images are captured from the head camera of the dual-arm "
    "robot. The front of the robot is the positive X-axis direction (the vertical component towards the top of "
    "the image), the left side is the positive Y-axis direction, and the above side is the positive Z-axis "
    "direction, which is a right-handed coordinate system. In summary: front, left, and above are considered "
    "positive directions, while back, right, and below are negative directions.\n\n"
    "{task_image_sequence}" + _HEAD + "\n\n"
    "The task the dual-arm robot in the images is doing is: '{task_description}'.\n\n"
)

_LOW_LEVEL_COMMAND_LIST = (
    "1. Target Gripper: Specify either 'left gripper' or 'right gripper'.\n"
    "2. Specific Action: Choose one or more actions from the list below to combine:\n"
    "   - Move: The direction must be one of [upward, downward, left, right, forward, backward], optionally with "
    "a magnitude [slightly, significantly].\n"
    "   - Rotate: The direction must be one of [clockwise, counter-clockwise].\n"
    "   - Grasp: The state must be one of [open, close].\n\n"
)

_EXPERT = "You are a senior expert in robotic manipulation failure analysis and task-level planning. "

FAILURE_DETECTION = (
    "{task_image_sequence}" + _HEAD + " Given the robot's actions in the images, with the specified task being to "
    "'{task_description}', can it be determined whether the dual-arm robot successfully completed the task?\n\n"
    "You should answer based on the following definitions:\n\n"
    "**Successful**: The task is fully and correctly completed.\n\n"
    "**Failed**: Any failure occurred during execution, leaving the task incomplete.\n\n"
    "Your answer must be only one of the two options: ['Successful' or 'Failed']."
)

KEYFRAME_LOCALIZATION = (
    "{task_image_sequence}" + _HEAD + " Based on the visual evidence of the robot executing the task: "
    "'{task_description}', select the frame where the failure starts to happen.\n\n" + _FOUR_OPTIONS
)

SUBTASK_LOCALIZATION = (
    "{task_image_sequence}" + _HEAD + " The task the dual-arm robot in the images is doing is: "
    "'{task_description}'. From the recorded execution of the dual-arm robot shown in the images, determine which "
    "subtask failed during the process. Here are all the subtasks of this task {subtasks}\n\n" + _FOUR_OPTIONS
)

FAILURE_TYPE = (
    "{task_image_sequence}" + _HEAD + " The task the dual-arm robot in the images is doing is "
    "'{task_description}'. Given the task execution images of the dual-arm robot, determine the failure type. "
    "Choose the correct answer from the options provided.\n\n"
    "task planning\ngripper state\ngripper 6d-pose\nhuman intervention\n\n"
    "The failure modes are defined as follows: 'gripper state' indicates that the gripper does not close or open "
    "properly or its level of closure or opening is insufficient; 'gripper 6d-pose' means the end-effector fails "
    "to reach its correct position or orientation; 'task planning' signifies that a subtask is skipped or the "
    "wrong target object is selected; 'human intervention' means that human interference makes the task "
    "impossible to complete.\n\n"
    "You only need to answer one of the four types: ['gripper state', 'gripper 6d-pose', 'task planning', "
    "'human intervention']"
)

LOW_LEVEL_AVOIDANCE = (
    _SPATIAL_PREAMBLE + "{avoidance_keyframe_image} This is the keyframe just before the failure happened.\n\n"
    "The failure is categorized as a '{failure_type}' error. Based on the keyframe before a failure happened, "
    "please provide low-level corrective commands that could help the robot avoid this failure and complete the "
    "task successfully. The command must clearly include the following elements:\n\n"
    + _LOW_LEVEL_COMMAND_LIST
    + _FOUR_OPTIONS
)

LOW_LEVEL_CORRECTION = (
    _SPATIAL_PREAMBLE + "{correction_keyframe_image} This is the keyframe after the failure happened.\n\n"
    "The failure is categorized as a '{failure_type}' error. Based on the keyframe after the failure happened, "
    "please provide low-level corrective commands that could help the robot correct this failure and complete "
    "the task successfully. The command must clearly include the following elements:\n\n"
    + _LOW_LEVEL_COMMAND_LIST
    + _FOUR_OPTIONS
)

FAILURE_REASON = (
    _EXPERT + "Your task is to analyze the behavior of a dual-arm robot based on images provided and provide a "
    "strategic failure diagnosis.\n\n"
    "{task_image_sequence}" + _HEAD + "\n\n"
    "The task the dual-arm robot in the images is doing is: '**{task_description}**'. You should give me a "
    "concise root-cause analysis (2–3 sentences, ≤ 60 words)."
)

HIGH_LEVEL_AVOIDANCE = (
    _EXPERT + "Your task is to analyze the behavior of a dual-arm robot based on images provided and suggest "
    "adjustments to help the robot avoid the failure before it happening.\n\n"
    "{task_image_sequence}" + _HEAD + "\n\n"
    "The task the dual-arm robot in the images is doing is: '**{task_description}**'. You should give me brief "
    "and feasible high-level commands."
)

HIGH_LEVEL_CORRECTION = (
    _EXPERT + "Your task is to analyze the behavior of a dual-arm robot based on images provided and suggest "
    "adjustments to help the robot recover from the failure and continue to finish the task after the failure "
    "happening.\n\n"
    "{task_image_sequence}" + _HEAD + "\n\n"
    "The task the dual-arm robot in the images is doing is: '**{task_description}**'. You should give me brief "
    "and feasible high-level commands."
)

_COT_OPENING = (
    "{task_image_sequence}" + _HEAD + "\nThe task is to: '{task_description}'.\n\n"
    "Please provide a complete analysis of the robot's execution.\n\n"
    "Your analysis should follow these steps in your reasoning:\n"
)

_RESPONSE_FORMAT = (
    "Present your response using the following format:\n"
    "- Your step-by-step reasoning must be enclosed in <Think></Think> tags.\n"
    "- Your final answer must be enclosed in <Answer></Answer> tags.\n"
)

LOW_LEVEL_AVOIDANCE_COT = (
    _COT_OPENING + "1. First, determine if the task was completed successfully (Your answer must be only one of the "
    "two options: ['Successful' or 'Failed']).\n"
    "2. If the task execution is failed, perform **Failure Localization**: Identify the numerical position of the "
    "key image frame(1-N) just before the failure began.\n"
    "3. Next, perform **Failure Classification**: Choose one of the following failure types. The types are "
    "defined as follows:\n" + _FAILURE_TYPE_DEFINITIONS + "4. Finally, provide a **Low-Level Avoidance Command**: "
    "This command must be a clear natural language instruction to help the robot avoid the failure. It must "
    "include the following elements:\n"
    + _COMMAND_ELEMENTS
    + "\n"
    + _RESPONSE_FORMAT
    + "- The answer block should contain the 'success detection' status, the 'keyframe' and the 'low level "
    "commands'."
)

LOW_LEVEL_CORRECTION_COT = (
    _COT_OPENING + "1. First, determine if the task was completed successfully (Your answer must be only one of the "
    "two options: ['Successful' or 'Failed']). If the task execution is failed, execute step 2 and 3.\n"
    "2. Next, perform **Failure Classification**: Choose one of the following failure types. The types are "
    "defined as follows:\n" + _FAILURE_TYPE_DEFINITIONS + "3. Finally, provide a **Low-Level Correction Command**: "
    "This command must be a clear natural language instruction to help the robot correct and recover from the "
    "failure on the frame number {correction_keyframe}. It must include the following elements:\n"
    + _COMMAND_ELEMENTS
    + "\n"
    + _RESPONSE_FORMAT
    + "- The answer block should contain the 'success detection' status and the 'low level commands'."
)

VISUAL_AVOIDANCE_COT = (
    _COT_OPENING + "1. First, determine if the task was completed successfully (Your answer must be only one of the "
    "three options: ['Successful' or 'Failed']).\n"
    "2. If the task execution is failed, perform **Failure Localization**: Identify the numerical position(1-N) "
    "of the key image frame just before the failure began.\n"
    "3. Next, perform **Failure Classification**: Choose one of the following failure types. The types are "
    "defined as follows:\n" + _FAILURE_TYPE_DEFINITIONS + "4. Then, provide a **Low-Level Avoidance Command**: "
    "This command must be a clear natural language instruction to help the robot avoid the failure. It must "
    "include the following elements:\n"
    + _COMMAND_ELEMENTS
    + "5. Finally, generate the **Visual Prompt Instructions** based on the low-level command.\n\n"
    + _DRAWING_RULES
    + "\n"
    + _RESPONSE_FORMAT
    + "- The answer block should contain the 'success detection' status, the 'keyframe', the 'low level "
    "commands', and the 'visual prompts'."
)

VISUAL_CORRECTION_COT = (
    _COT_OPENING + "1. First, determine if the task was completed successfully (Your answer must be only one of the "
    "two options: ['Successful' or 'Failed']). If the task execution is failed, execute following steps.\n"
    "2. Next, perform **Failure Classification**: Choose one of the following failure types. The types are "
    "defined as follows:\n" + _FAILURE_TYPE_DEFINITIONS + "3. Then, provide a **Low-Level Correction Command**: "
    "This command must be a clear natural language instruction to help the robot correct and recover from the "
    "failure based on the frame number {correction_keyframe}. It must include the following elements:\n"
    + _COMMAND_ELEMENTS
    + "4. Finally, generate the **Visual Prompt Instructions** based on the low-level command.\n\n"
    + _DRAWING_RULES
    + "\n"
    + _RESPONSE_FORMAT
    + "- The answer block should contain the 'success detection' status, the 'low level commands', and the "
    "'visual prompts'."
)

TEMPLATES: dict[QuestionType, str] = {
    QuestionType.FAILURE_DETECTION: FAILURE_DETECTION,
    QuestionType.KEYFRAME_LOCALIZATION: KEYFRAME_LOCALIZATION,
    QuestionType.SUBTASK_LOCALIZATION: SUBTASK_LOCALIZATION,
    QuestionType.FAILURE_TYPE: FAILURE_TYPE,
    QuestionType.LOW_LEVEL_AVOIDANCE: LOW_LEVEL_AVOIDANCE,
    QuestionType.LOW_LEVEL_CORRECTION: LOW_LEVEL_CORRECTION,
    QuestionType.FAILURE_REASON: FAILURE_REASON,
    QuestionType.HIGH_LEVEL_AVOIDANCE: HIGH_LEVEL_AVOIDANCE,
    QuestionType.HIGH_LEVEL_CORRECTION: HIGH_LEVEL_CORRECTION,
    QuestionType.LOW_LEVEL_AVOIDANCE_COT: LOW_LEVEL_AVOIDANCE_COT,
    QuestionType.LOW_LEVEL_CORRECTION_COT: LOW_LEVEL_CORRECTION_COT,
    QuestionType.VISUAL_AVOIDANCE_COT: VISUAL_AVOIDANCE_COT,
    QuestionType.VISUAL_CORRECTION_COT: VISUAL_CORRECTION_COT,
}
IMAGE_PLACEHOLDERS = ("{task_image_sequence}", "{avoidance_keyframe_image}", "{correction_keyframe_image}")
