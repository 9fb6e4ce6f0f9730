"""ROS 2 nodes of failforward. ``convert`` is the only module importing both rclpy messages and the core."""
