"""Fixtures shared by every test run (no Django import here: both Django projects use it)."""

pytest_plugins = ["tests.fixtures.kafka"]
