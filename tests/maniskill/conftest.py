"""ManiSkill tests run in the ManiSkill venv: ``.venv-maniskill/bin/python -m pytest tests/maniskill``.

In any other venv (numpy 2, no SAPIEN) only the config tests run; the rest skip at collection.
"""
