"""ManiSkill tests run only in the ManiSkill venv: ``.venv-maniskill/bin/python -m pytest tests/maniskill``.

In any other venv (numpy 2, no SAPIEN) every module here skips at collection.
"""
