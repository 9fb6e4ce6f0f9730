"""Corrective modes (hold, rewind, VSF, PMC), registered by name; see :mod:`.base`."""

from failforward.recovery.modes.base import CorrectiveMode, ModeResources, make_mode, register_mode, registered_modes

__all__ = ["CorrectiveMode", "ModeResources", "make_mode", "register_mode", "registered_modes"]
