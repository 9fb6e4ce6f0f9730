"""The lifecycle node every failforward node derives from.

Parameters come from a params file that mirrors a core preset (declared from the overrides, no
defaults of their own); ``active`` is true between activate and deactivate; cleanup and shutdown
call ``release()``, where each node frees its own resources (driver, worker thread, open files).
What configure builds is reached through a property that raises :class:`NotConfiguredError` before it.
"""

from __future__ import annotations

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn


class NotConfiguredError(RuntimeError):
    """A node's configured state (what ``on_configure`` builds) was used before configure succeeded."""


class ManagedNode(LifecycleNode):
    """Configure loads (subclass), activate starts, deactivate holds, cleanup/shutdown release."""

    def __init__(self, name: str) -> None:
        super().__init__(name, allow_undeclared_parameters=True, automatically_declare_parameters_from_overrides=True)
        self.active = False

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.active = True
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.active = False
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.release()
        return TransitionCallbackReturn.SUCCESS

    def release(self) -> None:
        """Free this node's own resources; called on cleanup, shutdown and process exit (idempotent)."""

    def not_configured(self, what: str) -> NotConfiguredError:
        """The error to raise when ``what`` (built by configure) is used before configure succeeded."""
        return NotConfiguredError(
            f"{self.get_name()} has no {what}: it is not configured (lifecycle transition 'configure' first)"
        )
