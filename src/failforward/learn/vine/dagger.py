"""DAgger for VINE's System 1: the learned policy drives, the prompted expert labels the states it reaches.

A behaviour-cloned System 1 is trained on the expert's own states; in closed loop its first centimetres of drift
take it where the expert never was, and nothing in the data says how to come back (Ross et al. 2011). Here the
learned policy runs in the real loop (safety, chunk broker, the planning step whose current subgoal is the prompt),
and at every chunk the prompted plug-strip expert is asked what it would do from that very state for the same
subgoal (:meth:`PromptedExpert.take_over`: it plans the subgoal from the measured joints and scene). Its chunk is
the label; with probability ``beta`` it is also what runs (DAgger's mixture, which keeps the rollout reaching the
later subgoals while the learner is still poor). After a label that ran, the expert continues its own trajectory
where the robot still follows it, as in its own rollouts (a plan starts at rest: re-planned at every chunk the arm
would only ever accelerate, and crawl).

- :class:`SubgoalLabeller`: the expert's chunk ``[H, 14]`` for ``(observation, subgoal)``, or ``None`` where the
  subgoal cannot be executed from the state (not a subgoal of the layout, or an insertion whose plug no gripper holds).
  Under the task's own prompt (System 1 alone, no planner) the subgoal is the one the scripted expert's default order
  (plugs in name order into the first sockets) needs next, read from the scene (:func:`next_default_subgoal`).
- :class:`DaggerPolicy`: the wrapper the loop runs (a :class:`PolicyBackend`), keeping the labelled states of the
  episode in :attr:`DaggerPolicy.samples`.
- Moved-object labels (``object_shifts``): at a labelled ``grasp <plug>`` state, the expert is also asked from the same
  joints with the prompted plug elsewhere (its observed pose and the simulator state the expert plans from, moved on
  the table): pairs of states that differ only in where the plug is, so a learner must read the plug to fit them (the
  rollouts' own states let it predict most of a label from the joints alone). Only where the real label is itself
  planned from rest (a subgoal's start, a state off the expert's path), so moved and real labels share their speed.
  With ``shift_subgoals`` naming ``insert`` too, an ``insert <plug> <socket>`` state whose held plug is not yet at a
  socket's mouth is also labelled with the strip moved (the sockets it aims for move with it).
- :func:`save_labels` / :func:`labelled_episodes`: one ``.npz`` per episode, read back as training streams with
  ``EpisodeArrays.chunk_actions`` (one stream per subgoal prompt, success labels, no done labels; moved-object labels
  as streams of their own).
- :func:`collect`: episodes of a run config under the wrapper, each saved as it ends.

Example:
    >>> collect(config, out_dir, seeds=range(1000, 1100), beta=0.5, on_episode=print)
    >>> episodes = labelled_episodes(sorted(out_dir.glob("*.npz")))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from failforward.control.assembly import build_loop, policy_context
from failforward.control.loop import EpisodeResult
from failforward.errors import ConfigError, ExpertError
from failforward.learn.episodes import EpisodeArrays
from failforward.planner.errors import UnknownSubgoalError
from failforward.planner.graph import Subgoal
from failforward.policy.base import PolicyBackend, RtcSupport
from failforward.policy.expert.facts import SceneFacts, read_facts
from failforward.policy.expert.plug_strip import holding_side, socket_of
from failforward.policy.expert.plug_strip_prompted import PromptedExpert, PromptedPlugStripPlanner
from failforward.policy.registry import make_policy
from failforward.robots.registry import make_driver
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.sim.aloha_scene import GRIPPER_INDICES, SimState
from failforward.sim.plug_strip_layout import OBJECTS, PlugStripLayout
from failforward.sim.plug_strip_status import mouth_socket
from failforward.sim.plug_strip_subgoals import DONE, PlugStripSubgoal, default_order, parse_subgoal
from failforward.sim.tasks import SimTaskSpec
from failforward.types import ActionChunk, ChunkPrefix, Observation

GRIPPER_COLUMNS = GRIPPER_INDICES
"""The 14-joint ALOHA's gripper columns (left, right); the other twelve are the arms' joints."""
ARM_COLUMNS = tuple(c for c in range(14) if c not in GRIPPER_COLUMNS)
NOISE_RAMP_ROWS = 10  # [rows] 0.2 s at 50 Hz: a perturbation's offset grows over these (no step in the command)
MAX_EXECUTION_NOISE = 0.2  # [rad] beyond this the perturbed chunks leave the task, not the expert's path
MAX_OBJECT_SHIFT = 0.1  # [m] a moved-object label's largest displacement per axis
OBJECT_POSE = 7  # an object's numbers in Observation.object_state: position [3], quaternion wxyz [4]
SHIFT_STREAM = 1  # the moved-object draws' own stream: default_rng([seed, episode seed, SHIFT_STREAM])
SHIFTABLE_SUBGOALS = ("grasp", "insert")  # moved-object labels move the plug to grasp, the strip to insert in


@dataclass(frozen=True)
class LabelledState:
    """One chunk boundary of a rollout: the state the policy saw, its prompt, and the expert's chunk from there.

    Attributes:
        time: observation timestamp [s].
        prompt: the subgoal the loop prompted.
        joints: ``[J]`` measured joints [rad, gripper normalised].
        objects: ``[O]`` the observation's object state (poses, world frame).
        label: ``[H, A]`` the expert's absolute joint targets from this state.
        expert_ran: whether the label (not the learner's chunk) was executed.
        learner: ``[H, A]`` the learner's chunk from this state (its error on its own states, against ``label``).
        moved: a moved-object label (the prompted plug, or the strip of an insertion, displaced from where the rollout
            had it; ``objects`` says where):
            no chunk of the rollout, ``expert_ran`` false, ``learner`` the learner's chunk at the unmoved state.
    """

    time: float
    prompt: str
    joints: np.ndarray
    objects: np.ndarray
    label: np.ndarray
    expert_ran: bool
    learner: np.ndarray
    moved: bool = False


def _edge(text: str | None) -> Subgoal | None:
    """The subgoal ``text`` names (``planner.graph.Subgoal``), or ``None`` for no text or a prompt that is not one
    (the task's own prompt)."""
    try:
        return None if text is None else Subgoal.parse(text)
    except UnknownSubgoalError:
        return None


class SubgoalLabeller:
    """The prompted plug-strip expert asked what it would do from any state (see the module docstring).

    Args:
        task: the simulated plug-strip task.
        state_source: zero-argument callable returning the simulator's :class:`SimState` (privileged).
    """

    def __init__(self, task: SimTaskSpec, state_source: Callable[[], SimState]) -> None:
        self._state_source = state_source
        self._moved: SimState | None = None  # the state asked about instead of the simulator's (label(state=...))
        self._planner, self._counterfactual_planner = PromptedPlugStripPlanner(), PromptedPlugStripPlanner()
        self.expert = PromptedExpert(task, self.current_state, planner=self._planner)
        self._counterfactual = PromptedExpert(task, self.current_state, planner=self._counterfactual_planner)
        self._subgoal: str | None = None  # the subgoal of the expert's last label
        self.task = task

    @property
    def subgoal(self) -> str | None:
        """The subgoal the last label (of the simulator's scene) executes, e.g. ``"insert plug_a socket_1"``."""
        return self._subgoal

    @property
    def fresh(self) -> bool:
        """Whether the last label (of the simulator's scene) was planned from the measured state, not continued."""
        return self.expert.fresh_plan

    def current_state(self) -> SimState:
        """The state the expert plans from: the simulator's, or the one :meth:`label` was given."""
        return self._moved if self._moved is not None else self._state_source()

    def reset(self) -> None:
        """A new episode (the expert forgets the last one's home poses)."""
        self.expert.reset()
        self._counterfactual.reset()
        self._subgoal = None

    def label(
        self, obs: Observation, prompt: str, horizon: int, state: SimState | None = None, *, resume: bool = False
    ) -> np.ndarray | None:
        """The expert's chunk ``[horizon, 14]`` for ``prompt`` (a subgoal, or the task's prompt) from ``obs``'s state,
        or ``None`` where it cannot execute it (not a subgoal of this layout; an insertion whose plug no gripper
        holds). ``state``: plan from this simulator state instead of the simulator's (a counterfactual scene, labelled
        by a second expert from the measured joints, so the first one's trajectory is kept).

        ``resume``: the previous label ran. The expert then continues its trajectory where the robot still follows
        it and the subgoal is unchanged, as in its own rollouts; otherwise it plans from the measured joints. A plan
        starts at rest, so labels planned afresh at every chunk only ever accelerate: the arm crawls and never
        arrives (480 of the 484 DART rollouts of VINE's seventh and eighth rounds ran out of time)."""
        self._moved = state
        try:
            subgoal = self._executable(prompt)
            if subgoal is None:
                return None
            expert = self.expert if state is None else self._counterfactual
            if state is not None:
                self._counterfactual_planner.adopt_home(self._planner)
            if state is not None or not resume or subgoal != self._subgoal:
                expert.take_over()
            if state is None:
                self._subgoal = subgoal
            expert.horizon = horizon
            return np.array(expert.infer(obs, prompt=subgoal).actions)
        except ExpertError:
            return None
        finally:
            self._moved = None

    def _executable(self, prompt: str) -> str | None:
        """The subgoal text to execute for ``prompt`` in the scene now, or ``None``."""
        facts = read_facts(self.current_state(), self.expert.ik)
        layout = facts.variant
        if not isinstance(layout, PlugStripLayout):
            return None
        if prompt == self.task.prompt:
            return str(next_default_subgoal(facts, layout))
        try:
            subgoal = parse_subgoal(prompt, layout)
        except ConfigError:
            return None
        if subgoal.kind != "insert" or subgoal.plug is None or holding_side(facts, subgoal.plug) is not None:
            return str(subgoal)
        return None


def next_default_subgoal(facts: SceneFacts, layout: PlugStripLayout) -> PlugStripSubgoal:
    """What the default order (plugs in name order into the first sockets) needs next in the scene ``facts``: the first
    pair not yet inserted is inserted if a gripper holds its plug, else grasped; ``done`` when every pair is in."""
    for plug, socket in default_order(layout):
        if socket_of(facts, layout, plug) == socket:
            continue
        if holding_side(facts, plug) is not None:
            return PlugStripSubgoal("insert", plug, socket)
        return PlugStripSubgoal("grasp", plug)
    return DONE


class DaggerPolicy(PolicyBackend):
    """Runs ``learner`` and labels each of its chunk boundaries with ``labeller``; with probability ``beta`` (per
    chunk, drawn from ``(seed, episode seed)``) the label runs instead. :attr:`samples`: this episode's labels.

    ``expert_columns`` (``None``: all) names the action columns the label replaces when it runs; the learner's chunk
    keeps the others. With ``beta = 1`` that is an ablation: the expert's grippers on the learner's arms
    (:data:`GRIPPER_COLUMNS`) tell whether the learner's gripper decisions or its arm motions fail the subgoals.

    ``execution_noise`` [rad] (DART, Laskey et al. 2017): a label that runs is perturbed before it runs, its arm
    joints (:data:`ARM_COLUMNS`) offset by one draw of ``N(0, execution_noise²)`` per joint and chunk, ramped in over
    :data:`NOISE_RAMP_ROWS` rows so the chunk starts where the robot is; the saved label stays the clean one. The
    next chunk's label is then planned from a state off the expert's path: how to come back, which the expert's own
    recordings never show (its plan is made once per subgoal and followed open loop). ``insert_noise`` [rad]: the std
    for labels of insertion subgoals instead (``None``: ``execution_noise``); offsets of centimetres at the prong jam
    the insertion, so its labels would come from jammed states.

    ``object_shifts`` (K) and ``object_shift`` [m] (r): at each labelled ``grasp <plug>`` state, K more labels from the
    same joints with the plug moved by a uniform draw in ``[−r, r]²`` along world x and y (its observed pose and the
    state the expert plans from; drawn from ``(seed, episode seed)`` apart from beta's and the noise's draws, so a run
    with shifts executes the same chunks as one without). ``shift_subgoals``: the subgoal kinds labelled so,
    ``"grasp"`` (the plug moved) and ``"insert"`` (the strip moved, while the held plug is not yet at a socket's mouth:
    a plug in a socket would sit inside a moved strip)."""

    def __init__(
        self,
        learner: PolicyBackend,
        labeller: SubgoalLabeller,
        *,
        beta: float,
        seed: int = 0,
        expert_columns: tuple[int, ...] | None = None,
        execution_noise: float = 0.0,
        object_shifts: int = 0,
        object_shift: float = 0.04,
        shift_subgoals: tuple[str, ...] = ("grasp",),
        insert_noise: float | None = None,
    ) -> None:
        if not set(shift_subgoals) <= set(SHIFTABLE_SUBGOALS):
            raise ConfigError(f"shift_subgoals names subgoal kinds of {SHIFTABLE_SUBGOALS}, got {shift_subgoals}.")
        if object_shifts < 0 or not 0.0 < object_shift <= MAX_OBJECT_SHIFT:
            raise ConfigError(
                f"object_shifts is a count >= 0 (got {object_shifts}) and object_shift a distance in (0, "
                f"{MAX_OBJECT_SHIFT}] m (got {object_shift}): a plug moved further leaves the table's reach."
            )
        if not 0.0 <= beta <= 1.0:
            raise ConfigError(f"DAgger's beta is a probability, got {beta}; use 0 (learner only) to 1 (expert only).")
        for name, noise in (("execution_noise", execution_noise), ("insert_noise", insert_noise or 0.0)):
            if not 0.0 <= noise <= MAX_EXECUTION_NOISE:
                raise ConfigError(f"{name} is a joint offset's std in [0, {MAX_EXECUTION_NOISE}] rad, got {noise}.")
        self.learner, self.labeller, self.beta, self.seed = learner, labeller, beta, seed
        self.expert_columns, self.execution_noise, self.insert_noise = expert_columns, execution_noise, insert_noise
        self.object_shifts, self.object_shift, self.shift_subgoals = object_shifts, object_shift, shift_subgoals
        self.samples: list[LabelledState] = []
        self._label_ran = False  # whether the last label ran (the labeller's expert may then continue it)
        self._rng = np.random.default_rng(seed)
        self._shift_rng = np.random.default_rng([seed, SHIFT_STREAM])

    @property
    def rtc(self) -> RtcSupport:
        return self.learner.rtc

    def reset(self) -> None:
        self.learner.reset()
        self.labeller.reset()
        self.samples = []
        self._label_ran = False

    def seed_episode(self, episode_seed: int) -> None:
        self.learner.seed_episode(episode_seed)
        self._rng = np.random.default_rng([self.seed, episode_seed])
        self._shift_rng = np.random.default_rng([self.seed, episode_seed, SHIFT_STREAM])

    def infer(
        self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None, prefix: ChunkPrefix | None = None
    ) -> ActionChunk:
        chunk = self.learner.infer(obs, prompt=prompt, noise=noise, prefix=prefix)
        label = self.labeller.label(obs, prompt, chunk.horizon, resume=self._label_ran)
        self._label_ran = False
        if label is None:
            return chunk
        expert_runs = bool(self._rng.random() < self.beta)
        self._label_ran = expert_runs and self.expert_columns is None
        learner = np.array(chunk.actions)
        self.samples.append(
            LabelledState(
                obs.timestamp, prompt, obs.joint_positions.copy(), obs.object_state.copy(), label, expert_runs, learner
            )
        )
        if self.labeller.fresh:  # moved scenes are planned from rest: only beside a label that is too
            self._label_moved(obs, prompt, chunk.horizon, learner)
        if not expert_runs:
            return chunk
        executed = self._perturbed(label, self._noise_of(self.labeller.subgoal))
        if self.expert_columns is None:
            return ActionChunk(executed, source="expert", done=chunk.done)
        mixed = np.array(chunk.actions, copy=True)
        mixed[:, self.expert_columns] = executed[:, self.expert_columns]
        return ActionChunk(mixed, source=f"{chunk.source}+expert", done=chunk.done)

    def _label_moved(self, obs: Observation, prompt: str, horizon: int, learner: np.ndarray) -> None:
        """Moved-object labels of a ``grasp`` or ``insert`` state (see the class docstring)."""
        if self.object_shifts == 0:
            return
        state = self.labeller.current_state()
        moving = self._object_to_move(prompt, state)
        if moving is None:
            return
        at = OBJECT_POSE * OBJECTS.index(moving)
        for _ in range(self.object_shifts):
            shift = self._shift_rng.uniform(-self.object_shift, self.object_shift, 2)
            poses = dict(state.object_poses)
            poses[moving] = poses[moving].copy()
            poses[moving][:2] += shift
            objects = obs.object_state.copy()
            objects[at : at + 2] += shift
            moved_obs = replace(obs, object_state=objects)
            label = self.labeller.label(moved_obs, prompt, horizon, state=replace(state, object_poses=poses))
            if label is not None:
                joints = obs.joint_positions.copy()
                self.samples.append(LabelledState(obs.timestamp, prompt, joints, objects, label, False, learner, True))

    def _object_to_move(self, prompt: str, state: SimState) -> str | None:
        """The object a moved-object label of ``prompt`` displaces: the plug to grasp; the strip to insert in while
        the held plug is not yet at a socket's mouth (nor in a socket); ``None``: no moved labels here."""
        edge = _edge(prompt)
        if edge is None or edge.kind not in self.shift_subgoals or edge.args[0] not in OBJECTS:
            return None
        if "strip" not in state.object_poses:
            return None
        if edge.kind == "grasp":
            return edge.args[0]
        layout, plug_pose, strip_pose = state.variant, state.object_poses[edge.args[0]], state.object_poses["strip"]
        if not isinstance(layout, PlugStripLayout) or mouth_socket(layout, plug_pose, strip_pose) is not None:
            return None
        return "strip"

    def _noise_of(self, subgoal: str | None) -> float:
        """The execution noise's std [rad] for a label of ``subgoal`` (see the class docstring)."""
        inserting = (edge := _edge(subgoal)) is not None and edge.kind == "insert"
        return self.insert_noise if inserting and self.insert_noise is not None else self.execution_noise

    def _perturbed(self, label: np.ndarray, noise: float) -> np.ndarray:
        """``label`` ``[H, A]`` with an offset of std ``noise`` [rad] on its arm joints (see the class docstring)."""
        if noise == 0.0:
            return label
        ramp = np.minimum(np.arange(1, label.shape[0] + 1) / NOISE_RAMP_ROWS, 1.0)[:, None]
        offset = self._rng.normal(0.0, noise, len(ARM_COLUMNS))
        out = np.array(label, copy=True)
        out[:, ARM_COLUMNS] += ramp * offset
        return out

    def close(self) -> None:
        self.learner.close()


def save_labels(path: Path, samples: list[LabelledState], *, seed: int, success: bool) -> None:
    """One episode's labelled states to ``path`` (``.npz``; written to a temporary name, then renamed)."""
    if not samples:
        raise ConfigError(f"No labelled states to save for seed {seed}: the rollout never ran a subgoal prompt.")
    arrays: dict[str, Any] = {
        "time": np.array([s.time for s in samples]),
        "prompt": np.array([s.prompt for s in samples]),
        "joints": np.stack([s.joints for s in samples]),
        "objects": np.stack([s.objects for s in samples]),
        "label": np.stack([s.label for s in samples]).astype(np.float32),
        "expert_ran": np.array([s.expert_ran for s in samples]),
        "learner": np.stack([s.learner for s in samples]).astype(np.float32),
        "moved": np.array([s.moved for s in samples]),
        "seed": np.array(seed),
        "success": np.array(success),
    }
    partial = path.with_name(path.name + ".partial.npz")
    np.savez_compressed(partial, **arrays)
    partial.replace(path)


def labelled_episodes(files: Iterable[str | Path]) -> list[EpisodeArrays]:
    """Training streams from saved labels: per file and prompt (and apart, its moved-object labels), the labelled
    states with their chunks (``chunk_actions``; ``actions`` is each chunk's first row), as successes (the expert's
    actions) without done labels."""
    out = []
    for file in files:
        with np.load(file) as data:
            prompts = data["prompt"]
            moved = data["moved"] if "moved" in data else np.zeros(len(prompts), dtype=bool)  # older files: none
            for prompt, shifted in dict.fromkeys(zip(prompts.tolist(), moved.tolist(), strict=True)):
                pick = (prompts == prompt) & (moved == shifted)
                label = data["label"][pick].astype(np.float64)
                out.append(
                    EpisodeArrays(
                        data["joints"][pick],
                        label[:, 0],
                        str(prompt),
                        True,
                        object_state=data["objects"][pick],
                        chunk_actions=label,
                    )
                )
    return out


def collect(
    config: Any,
    out_dir: Path,
    seeds: Iterable[int],
    *,
    beta: float,
    expert_columns: tuple[int, ...] | None = None,
    execution_noise: float = 0.0,
    object_shifts: int = 0,
    object_shift: float = 0.04,
    shift_subgoals: tuple[str, ...] = ("grasp",),
    insert_noise: float | None = None,
    on_episode: Callable[[EpisodeResult, Path | None], None] | None = None,
) -> None:
    """Run ``config``'s policy (the learner) under :class:`DaggerPolicy` for each of ``seeds`` on one simulator and
    save each episode's labels to ``out_dir/<seed>.npz`` (none when nothing was labelled) as it ends;
    ``expert_columns``, ``execution_noise``, ``object_shifts``, ``object_shift``, ``shift_subgoals``, ``insert_noise``:
    see :class:`DaggerPolicy`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with make_driver(config.robot) as driver:
        if not isinstance(driver, SimAlohaDriver) or config.robot.task != "plug_strip":
            raise ConfigError("DAgger labels come from the plug-strip expert: run it on sim_aloha, task plug_strip.")
        learner = make_policy(config.policy, policy_context(config, driver))
        labeller = SubgoalLabeller(driver.task, driver.privileged_state)
        policy = DaggerPolicy(
            learner,
            labeller,
            beta=beta,
            seed=config.seed,
            expert_columns=expert_columns,
            execution_noise=execution_noise,
            object_shifts=object_shifts,
            object_shift=object_shift,
            shift_subgoals=shift_subgoals,
            insert_noise=insert_noise,
        )
        loop = build_loop(config, driver, policy=policy)
        try:
            for index, seed in enumerate(seeds):
                episode = loop.run_episode(index, seed, task=config.robot.task)
                path = out_dir / f"{seed}.npz" if policy.samples else None
                if path is not None:
                    save_labels(path, policy.samples, seed=seed, success=episode.outcome.success)
                if on_episode is not None:
                    on_episode(episode, path)
        finally:
            policy.close()
