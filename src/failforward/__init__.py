"""failforward: failure-aware VLA runtime for ALOHA and Franka arms."""

__version__ = "0.1.0"
