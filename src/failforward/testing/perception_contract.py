"""The contract every :class:`~failforward.perception.base.ObjectPerception` passes.

Subclass :class:`ObjectPerceptionContract` in a test module and implement its three factories::

    class TestGroundTruth(ObjectPerceptionContract):
        def make_perception(self):
            return GroundTruthPerception(("box",))
        def make_observation(self):          # one the estimator can use
            return Observation(0.0, np.zeros(14), np.zeros(14), object_state=BOX_POSE)
        def make_unusable_observation(self): # one it must refuse
            return Observation(0.0, np.zeros(14), np.zeros(14))

Needs pytest (the ``dev`` extra).
"""

from __future__ import annotations

import numpy as np
import pytest

from failforward.perception.base import ObjectPerception
from failforward.perception.errors import PerceptionError
from failforward.types import Observation


class ObjectPerceptionContract:
    """Behaviour every object-pose estimator guarantees."""

    def make_perception(self) -> ObjectPerception:
        raise NotImplementedError("Return a fresh estimator.")

    def make_observation(self) -> Observation:
        raise NotImplementedError("Return an observation in which every object can be estimated.")

    def make_unusable_observation(self) -> Observation:
        raise NotImplementedError("Return an observation the estimator must refuse (a bad frame, no object).")

    @pytest.fixture
    def perception(self):
        perception = self.make_perception()
        perception.reset()
        yield perception
        perception.close()

    def test_names_its_objects(self, perception: ObjectPerception) -> None:
        names = perception.object_names
        assert isinstance(names, tuple) and names
        assert all(isinstance(n, str) and n for n in names) and len(set(names)) == len(names)

    def test_estimate_is_finite_poses_with_unit_quaternions(self, perception: ObjectPerception) -> None:
        state = perception.estimate(self.make_observation())
        count = len(perception.object_names)
        assert state.dtype == np.float64 and state.shape == (7 * count,)
        assert np.all(np.isfinite(state))
        poses = state.reshape(count, 7)
        np.testing.assert_allclose(np.linalg.norm(poses[:, 3:], axis=1), 1.0, atol=1e-6)

    def test_the_same_observation_after_reset_gives_the_same_poses(self, perception: ObjectPerception) -> None:
        first = perception.estimate(self.make_observation())
        perception.reset()
        np.testing.assert_array_equal(perception.estimate(self.make_observation()), first)

    def test_an_unusable_observation_raises_a_perception_error(self, perception: ObjectPerception) -> None:
        with pytest.raises(PerceptionError):
            perception.estimate(self.make_unusable_observation())

    def test_health_is_named_numbers(self, perception: ObjectPerception) -> None:
        perception.estimate(self.make_observation())
        health = perception.health()
        assert all(isinstance(k, str) and isinstance(v, float) for k, v in health.items())
