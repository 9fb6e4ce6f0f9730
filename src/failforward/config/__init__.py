"""One config system: frozen pydantic models, invariants checked on construction, named presets.

A preset is a complete :class:`RunConfig`. Entry points start from a preset and apply overrides
(``with_overrides``); ROS parameter files (``launch/params/*.yaml``) mirror a preset and are loaded
through the same models, so a typo in either is an error that names the valid fields.

Example:
    >>> cfg = get_preset("sim_transfer_cube")
    >>> cfg.robot.task
    'transfer_cube'
"""

from failforward.config.base import AlohaCamera, FrozenModel, SimAlohaTask
from failforward.config.maniskill import ManiSkillConfig, ManiSkillTask
from failforward.config.perception import GroundTruthPerceptionConfig, PerceptionConfig, RgbdPerceptionConfig
from failforward.config.policy import AfilPolicyConfig, GripperLatchConfig, GuidanceConfig, GuidanceMode, SamplerConfig
from failforward.config.recovery import GraspConfig, PmcConfig, RecoveryConfig, VsfConfig
from failforward.config.remote import RemotePolicyConfig
from failforward.config.robots import (
    AlohaConfig,
    CameraConfig,
    DynamixelBaud,
    FrankaConfig,
    RobotConfig,
    SimAlohaConfig,
)
from failforward.config.run import (
    PRESETS,
    BrokerConfig,
    LoopConfig,
    PolicyConfig,
    RecordConfig,
    RunConfig,
    SafetyConfig,
    flatten_config,
    get_preset,
    load_config,
)
from failforward.config.supervisor import (
    BackendConfig,
    CotQuestion,
    OpenAIBackendConfig,
    QwenLocalConfig,
    ScheduleConfig,
    ScriptedBackendConfig,
    SimOracleConfig,
    SupervisorConfig,
)
from failforward.config.viz import FoxgloveConfig, VizConfig

__all__ = [
    "PRESETS",
    "AfilPolicyConfig",
    "AlohaCamera",
    "AlohaConfig",
    "BackendConfig",
    "BrokerConfig",
    "CameraConfig",
    "CotQuestion",
    "DynamixelBaud",
    "FoxgloveConfig",
    "FrankaConfig",
    "FrozenModel",
    "GraspConfig",
    "GripperLatchConfig",
    "GroundTruthPerceptionConfig",
    "GuidanceConfig",
    "GuidanceMode",
    "LoopConfig",
    "ManiSkillConfig",
    "ManiSkillTask",
    "OpenAIBackendConfig",
    "PerceptionConfig",
    "PmcConfig",
    "PolicyConfig",
    "QwenLocalConfig",
    "RecordConfig",
    "RecoveryConfig",
    "RemotePolicyConfig",
    "RgbdPerceptionConfig",
    "RobotConfig",
    "RunConfig",
    "SafetyConfig",
    "SamplerConfig",
    "ScheduleConfig",
    "ScriptedBackendConfig",
    "SimAlohaConfig",
    "SimAlohaTask",
    "SimOracleConfig",
    "SupervisorConfig",
    "VizConfig",
    "VsfConfig",
    "flatten_config",
    "get_preset",
    "load_config",
]
