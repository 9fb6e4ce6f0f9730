"""The one place that assembles a run: a :class:`RunConfig` and a connected driver become a :class:`ControlLoop`.

Every entry point builds its loop here (``failforward demo``, the ROS policy node, the learning pipeline,
the benchmarks), so that safety, the chunk broker and the policy's view of the robot are put together one way.
Which robots recovery runs on is decided by the config itself (``RunConfig`` refuses ``recovery.enabled``
elsewhere); what recovery is built from lives in :mod:`failforward.recovery.runner`.

Example:
    >>> with make_driver(config.robot) as driver:
    ...     loop = build_loop(config, driver, subscribers=[recorder])
    ...     result = loop.run_episode(0, config.seed, task=config.robot.task)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from failforward.config import BrokerConfig, LoopConfig, RunConfig, SafetyConfig
from failforward.control.loop import ControlLoop
from failforward.control.perceive import PerceptionStep, build_perception
from failforward.control.plan_step import PlanCycle, PlanStep, build_planning
from failforward.control.ports import Corrector, ReportSource
from failforward.control.safety import SafetyLayer
from failforward.policy.base import PolicyBackend
from failforward.policy.registry import PolicyContext, make_policy
from failforward.robots.base import EpisodicDriver, RobotDriver
from failforward.robots.capabilities import LeaderArms
from failforward.supervisor.scheduler import SupervisorReport
from failforward.types import TickSubscriber


def task_prompt(driver: RobotDriver) -> str:
    """The language instruction of the driver's task (simulators know it; hardware has none: ``""``)."""
    return driver.task_prompt if isinstance(driver, EpisodicDriver) else ""


def policy_context(config: RunConfig, driver: RobotDriver, perception: PerceptionStep | None = None) -> PolicyContext:
    """What the policy may know of ``driver``: features (with the objects ``perception`` estimates, when there is a
    perception step), task, prompt, privileged state in simulation, and the leader arms when the robot has them
    configured (teleoperation)."""
    features = driver.features
    if perception is not None:
        features = replace(features, object_names=perception.perception.object_names)
    return PolicyContext(
        features=features,
        task=config.robot.task,
        prompt=task_prompt(driver),
        privileged_state=driver.privileged_state if isinstance(driver, EpisodicDriver) else None,
        teleop_source=_leader_reader(driver),
    )


def _leader_reader(driver: RobotDriver) -> Callable[[], object] | None:
    """The driver's leader-arm reader when it has leader arms configured (ALOHA teleoperation)."""
    return driver.read_leaders if isinstance(driver, LeaderArms) and driver.has_leaders else None


def build_loop(
    config: RunConfig,
    driver: RobotDriver,
    *,
    policy: PolicyBackend | None = None,
    reports: ReportSource | None = None,
    corrector: Corrector | None = None,
    subscribers: Sequence[TickSubscriber] = (),
    on_report: Callable[[SupervisorReport], None] | None = None,
    prompt: str | None = None,
    on_plan: Callable[[PlanCycle], None] | None = None,
) -> ControlLoop:
    """The control loop of ``config`` on ``driver``.

    Args:
        config: loop timing and supervisor mode, safety margins, chunk broker, and (when ``policy`` is not given)
            the policy to build.
        driver: the robot, connected or not (the loop only uses it in ``run_episode``).
        policy: a policy built by the caller (a harness's wrapper); default: ``config.policy`` for this driver.
        reports: supervisor answers (the scheduler in-process, the answer inbox in the ROS node).
        corrector: recovery (returns intent; the loop acts on it).
        subscribers: recorder, ROS publishers, meters; notified every tick.
        on_report: called with every supervisor answer the loop collects.
        prompt: the instruction given to the policy; default: the driver's task prompt.
        on_plan: called with every planning cycle (with ``config.planner``).

    With ``config.planner`` the loop runs its planning step (:mod:`failforward.control.plan_step`): the planner's
    current subgoal is the policy's prompt. With ``config.perception`` the loop runs its perception step
    (:mod:`failforward.control.perceive`) and the policy is built for the objects it estimates.
    """
    perception = build_perception(config, driver)
    if policy is None:
        policy = make_policy(config.policy, policy_context(config, driver, perception))
    return assemble_loop(
        driver,
        policy,
        loop=config.loop,
        safety=config.safety,
        broker=config.broker,
        prompt=prompt,
        reports=reports,
        corrector=corrector,
        subscribers=subscribers,
        on_report=on_report,
        perception=perception,
        planning=build_planning(config, on_plan),
    )


def assemble_loop(
    driver: RobotDriver,
    policy: PolicyBackend,
    *,
    loop: LoopConfig,
    safety: SafetyConfig,
    broker: BrokerConfig,
    prompt: str | None = None,
    reports: ReportSource | None = None,
    corrector: Corrector | None = None,
    subscribers: Sequence[TickSubscriber] = (),
    on_report: Callable[[SupervisorReport], None] | None = None,
    perception: PerceptionStep | None = None,
    planning: PlanStep | None = None,
) -> ControlLoop:
    """The loop from its parts, for harnesses that have no :class:`RunConfig` (a driver wrapper in the learning
    pipeline, a benchmark's own margins): every command still passes a :class:`SafetyLayer` of ``safety`` on the
    driver's features. Arguments as :func:`build_loop`."""
    layer = SafetyLayer(driver.features, safety, loop.rate_hz)
    return ControlLoop(
        driver,
        policy,
        layer,
        loop,
        broker,
        prompt=task_prompt(driver) if prompt is None else prompt,
        subscribers=subscribers,
        reports=reports,
        on_report=on_report,
        corrector=corrector,
        perception=perception,
        planning=planning,
    )
