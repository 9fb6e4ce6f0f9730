#!/usr/bin/env bash
# Source ROS, the workspace and the core's venv, then run the command.
set -e
. "/opt/ros/${ROS_DISTRO}/setup.sh"
. /opt/failforward/src/ros2_ws/install/setup.sh
. "${VENV}/bin/activate"
exec "$@"
