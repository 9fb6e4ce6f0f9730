"""Symbol-following data (ViFailback's VSF dataset, paper §4.3 and supplement 6.2) for the simulated ALOHA.

Atomic corrective motions ("Move the left gripper upward slightly.", rotate, open/close) sampled in the
ViFailback grammar (:mod:`.sampling`), planned with PMC and annotated with the symbols a supervisor would draw
(:mod:`.plan`, :mod:`.draw`), executed after an expert prelude (:mod:`.policy`), judged by measuring the
simulated tool (:mod:`.verdict`) and read back for training with the VSF view (:mod:`.read`). The episodes are
generated in the control loop by :mod:`.generate`; ``failforward learn symbols`` adds them to a learning run.
"""
