"""Shared contract tests (like dm_env.test_utils): every implementation of an interface passes them."""
