"""QoS per topic kind, chosen once here.

- Camera images and camera info: best effort, keep last 1 (the SensorData profile): a late frame is
  useless and must not delay the next one.
- Joint states: reliable, keep last 10, as ros2_control's joint_state_broadcaster publishes them;
  the policy runs in lockstep with the simulator and a lost state would stall a tick.
- Commands and the echo of what was sent: reliable, keep last 10: a dropped command would be a
  silent hold; the bridge's deadman handles a dead sender instead.
- Planner output, outcomes, privileged sim state, diagnostics: reliable, keep last 10.
- Episode starts: reliable, transient local, keep last 1 (latched): a node that starts or reconnects
  mid-episode still learns which episode the frames belong to.
"""

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

IMAGES = qos_profile_sensor_data
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
JOINT_STATES = RELIABLE
COMMAND = RELIABLE
STATE = RELIABLE
DIAGNOSTICS = RELIABLE
LATCHED = QoSProfile(
    depth=1,
    reliability=ReliabilityPolicy.RELIABLE,
    history=HistoryPolicy.KEEP_LAST,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)


def recording(profile: QoSProfile) -> QoSProfile:
    """``profile`` for a recorder's subscription: reliable topics get a deep history (1000), so that a recorder
    lagging behind a burst loses nothing (keep-last 10 would drop the oldest samples); best-effort ones (images)
    stay as they are: a late frame may be dropped, as on every other subscriber."""
    if profile.reliability != ReliabilityPolicy.RELIABLE:
        return profile
    return QoSProfile(
        depth=max(profile.depth, 1000),
        reliability=profile.reliability,
        history=profile.history,
        durability=profile.durability,
    )
