"""Expert episodes in the control loop, optionally after a prelude (benchmarks of the scripted expert).

The expert runs like any policy: the control loop (:func:`~failforward.control.assembly.assemble_loop`) with a
chunk broker (the first ``execute_steps`` rows of each chunk, then a new chunk) and the safety layer; a prelude,
if any, sets the scene up at ``reset`` (:class:`~failforward.robots.wrappers.PreludeStart`) and an
:class:`~failforward.policy.expert.evaluate.ExpertMeter` measures what the expert did after it.

Example:
    >>> with SimAlohaDriver(SimAlohaConfig(task="transfer_cube", cameras=())) as robot:
    ...     expert = ScriptedExpert(robot.task, robot.privileged_state)
    ...     result = run_expert_episode(robot, expert, seed=0, prelude=dropped_object(robot.task))
"""

from __future__ import annotations

from failforward.config import BrokerConfig, LoopConfig, SafetyConfig
from failforward.control.assembly import assemble_loop
from failforward.policy.base import PolicyBackend
from failforward.policy.expert.evaluate import EpisodeResult, ExpertMeter, Prelude
from failforward.robots.base import EpisodicDriver
from failforward.robots.wrappers import PreludeStart

EXPERT_ALONE = SafetyConfig(joint_margin=0.0)
"""Safety for measuring the expert alone: the simulator's own joint limits (no margin) and the layer's rate
limit, which the expert respects, so no command it plans is changed."""


def run_expert_episode(
    robot: EpisodicDriver,
    expert: PolicyBackend,
    seed: int,
    *,
    max_steps: int = 400,
    execute_steps: int = 25,
    prelude: Prelude | None = None,
    safety: SafetyConfig | None = None,
) -> EpisodeResult:
    """Reset ``robot`` (connected) to ``seed``, run ``prelude`` (if any), then ``expert`` in the loop for up
    to ``max_steps`` ticks or until success.

    ``safety`` defaults to :data:`EXPERT_ALONE`: the expert is measured as it plans (the README's numbers);
    pass ``SafetyConfig()`` to measure it behind the deployed joint margins.

    Success and stage are judged from the expert's first tick on (:class:`PreludeStart`'s judge after a
    prelude, the driver's from ``reset`` otherwise).
    """
    rate_hz = robot.features.control_hz
    driver = robot if prelude is None else PreludeStart(robot, prelude)
    meter = ExpertMeter(expert)
    loop = assemble_loop(
        driver,
        expert,
        loop=LoopConfig(rate_hz=rate_hz, max_steps=max_steps),
        safety=safety or EXPERT_ALONE,
        broker=BrokerConfig(execute_steps=execute_steps),
        prompt=robot.task_prompt,
        subscribers=[meter],
    )
    result = loop.run_episode(0, seed)
    return meter.result(result.outcome, result.error)
