"""Recovery configuration: which corrective mode follows a diagnosis, its limits, timeouts and retries.

Frames and units: the PMC workspace box is in the world (table) frame, z up, metres; times are seconds of
the driver's clock (simulation time in simulation).

Example:
    >>> cfg = RecoveryConfig(mode="pmc", pmc=PmcConfig(significant_m=0.08))
    >>> cfg.pmc.distance("significantly")
    0.08
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from failforward.config.base import AlohaCamera, FrozenModel, ValueEnum


class CorrectiveModeName(ValueEnum):
    """Registry names of the built-in corrective modes (``failforward.recovery.modes``).

    ``RecoveryConfig.mode`` chooses the one that corrects a failure (:data:`ConfiguredMode`: PMC or VSF); the
    diagnosis itself chooses HOLD (human intervention, a hold-still command, a lock symbol) and REWIND (a rewind
    symbol).
    """

    HOLD = "hold"
    REWIND = "rewind"
    PMC = "pmc"
    VSF = "vsf"


ConfiguredMode = Literal[CorrectiveModeName.PMC, CorrectiveModeName.VSF]
"""The modes ``RecoveryConfig.mode`` accepts (written ``"pmc"`` / ``"vsf"`` in configs)."""


class GraspConfig(FrozenModel):
    """The geometric top-down grasp estimator on a depth image.

    Attributes:
        window_px: half size [px] of the square searched around the queried pixel.
        min_height_m: [m] a point counts as object when this far above the support (table) height.
        depth_jump_m: [m] neighbouring pixels whose depths differ by more belong to different surfaces.
        grasp_depth_m: [m] fingertip centre below the object's top.
        min_clearance_m: [m] fingertip centre kept at least this far above the support.
        max_width_m: [m] widest object the gripper can close on.
        min_pixels: fewest object pixels for a grasp.
    """

    window_px: int = Field(30, ge=3, le=400)
    min_height_m: float = Field(0.006, gt=0.0, le=0.1)
    depth_jump_m: float = Field(0.015, gt=0.0, le=0.5)
    grasp_depth_m: float = Field(0.016, ge=0.0, le=0.1)
    min_clearance_m: float = Field(0.008, ge=0.0, le=0.1)
    max_width_m: float = Field(0.075, gt=0.0, le=0.3)
    min_pixels: int = Field(4, ge=1)


class PmcConfig(FrozenModel):
    """Point-based motion control: symbol → 3-D target → IK → joint trajectory.

    Attributes:
        camera: the head camera whose pixels the symbols refer to (needs depth).
        slight_m, significant_m: [m] translation for "slightly" / "significantly"; no magnitude → slight.
        rotate_rad: [rad] one "rotate clockwise / counter-clockwise", about the world vertical.
        pregrasp_height_m: [m] above a grasp (and above a crosshair that is not grasped) the tool first goes to.
        max_joint_speed: [rad/s] peak arm joint speed of a PMC trajectory (min-jerk profile).
        gripper_speed: [1/s] peak normalized gripper speed.
        settle_s: [s] held at the end of a trajectory before the policy resumes.
        ik_tolerance_m, ik_tolerance_rad: largest tool position [m] / orientation [rad] error accepted.
        ik_max_steps: IK iterations before a target counts as unreachable.
        depth_window_px: half size [px] of the window whose median depth a symbol point takes.
        workspace_lower_m, workspace_upper_m: world box [m] every PMC tool target must lie in.
        grasp_on_target: a crosshair with an "open"/ON instruction is grasped (grasp estimator), not only reached.
        occlusion_radius_px: [px] robot pixels this close to an object to grasp count as hiding part of it.
        clear_view: when the robot itself hides a symbol's point from the head camera, first move the arms to
            ``clear_pose_rad`` (six arm joints [rad]; the addressed gripper opens, the other keeps its opening),
            then look and plan again.
        clear_both_arms: move the idle arm out of the view too (it may be the one hiding the target).
    """

    camera: AlohaCamera = "top"
    slight_m: float = Field(0.02, gt=0.0, le=0.2)
    significant_m: float = Field(0.06, gt=0.0, le=0.5)
    rotate_rad: float = Field(0.35, gt=0.0, le=3.2)
    pregrasp_height_m: float = Field(0.08, ge=0.0, le=0.3)
    max_joint_speed: float = Field(1.0, gt=0.0, le=3.0)
    gripper_speed: float = Field(2.0, gt=0.0, le=5.0)
    settle_s: float = Field(0.3, ge=0.0, le=5.0)
    ik_tolerance_m: float = Field(0.01, gt=0.0, le=0.1)
    ik_tolerance_rad: float = Field(0.15, gt=0.0, le=1.0)
    ik_max_steps: int = Field(300, ge=1, le=5000)
    depth_window_px: int = Field(1, ge=0, le=20)
    workspace_lower_m: tuple[float, float, float] = (-0.45, 0.1, 0.005)
    workspace_upper_m: tuple[float, float, float] = (0.45, 1.0, 0.45)
    grasp_on_target: bool = True
    occlusion_radius_px: int = Field(6, ge=0, le=100)
    clear_view: bool = True
    clear_both_arms: bool = True
    clear_pose_rad: tuple[float, float, float, float, float, float] = (0.0, -0.96, 1.16, 0.0, -0.3, 0.0)

    @model_validator(mode="after")
    def _ordered(self) -> PmcConfig:
        if self.slight_m >= self.significant_m:
            raise ValueError(f"slight_m ({self.slight_m}) must be below significant_m ({self.significant_m}) [m]")
        if not all(lo < hi for lo, hi in zip(self.workspace_lower_m, self.workspace_upper_m, strict=True)):
            raise ValueError(
                f"workspace_lower_m {self.workspace_lower_m} must be below workspace_upper_m "
                f"{self.workspace_upper_m} on every axis [m]"
            )
        return self

    def distance(self, magnitude: str | None) -> float:
        """[m] for a ViFailback magnitude word (``None`` → ``slight_m``)."""
        return self.significant_m if magnitude == "significantly" else self.slight_m


class VsfConfig(FrozenModel):
    """Visual-symbol following: the symbol-conditioned policy runs on the masked view.

    Attributes:
        head_camera: camera the symbols are drawn on.
        margin_px, min_size_px: ROI growth and minimum size [px] (paper supplement 6.2: 50, 50).
    """

    head_camera: AlohaCamera = "top"
    margin_px: int = Field(50, ge=0)
    min_size_px: int = Field(50, ge=1)


class RecoveryConfig(FrozenModel):
    """The recovery machine.

    Attributes:
        enabled: when false the runtime builds no recovery controller.
        mode: corrective mode for 'gripper 6d-pose' / 'gripper state' / 'task planning' failures;
            'human intervention' (or a lock / hold-still) always holds, a rewind symbol always rewinds.
        max_attempts: corrections started without a success report in between; one more failure
            diagnosis after that exhausts the machine.
        correction_timeout_s: [s] a correction (trajectory or VSF) still running after this is abandoned.
        hold_timeout_s: [s] HOLD ends after this even without a clearing report; ``None`` = hold until cleared.
        on_refusal: where the machine goes when no mode can follow the diagnosis.
        on_exhausted: where it goes when ``max_attempts`` are used up (``hold``: safe stop for a human).
        history_s: [s] of joint history kept for rewind.
        hold_chunk_ticks: while holding, a hold chunk is reported this often [ticks] so that the supervisor, which
            is asked every K new chunks, keeps watching (match the broker's ``execute_steps``).
    """

    enabled: bool = True
    mode: ConfiguredMode = CorrectiveModeName.PMC
    max_attempts: int = Field(3, ge=1, le=100)
    correction_timeout_s: float = Field(10.0, gt=0.0)
    hold_timeout_s: float | None = Field(None, gt=0.0)
    on_refusal: Literal["nominal", "hold"] = "nominal"
    on_exhausted: Literal["nominal", "hold"] = "hold"
    history_s: float = Field(30.0, gt=0.0, le=600.0)
    hold_chunk_ticks: int = Field(25, ge=1)
    pmc: PmcConfig = PmcConfig()
    grasp: GraspConfig = GraspConfig()
    vsf: VsfConfig = VsfConfig()
