"""System 2 (VINE): scene-graph nodes, subgoal edges, a failure-aware value and a bounded tree search.

- :mod:`.graph`: ``SceneNode``, ``Relation``, ``Subgoal``, ``Step``; :mod:`.task_graph`: the transition model;
- :mod:`.features`, :mod:`.models`: the learned decision and value models (numpy at run time);
- :mod:`.search`: the tree search; :mod:`.greedy`: the Chain and random baselines; :mod:`.registry`: by name;
- :mod:`.plan`: what a planner returns (path, value, tree), JSON for ROS and the recording.
"""
