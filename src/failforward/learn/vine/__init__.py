"""Training System 2 (VINE §4.2): thought paths from labelled episodes, the decision model (imitation prior over
subgoals) and the value model (first-exit bootstrapping with an EMA target network)."""
