"""The privileged simulation oracle: camera projection, facts from ``SimState`` and diagnosis rules."""
