"""Dynamixel Protocol 2.0: the control table, a bus client over ``dynamixel-sdk`` and an emulator."""
