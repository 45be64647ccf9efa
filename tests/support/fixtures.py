"""Shared pytest fixtures (the emulator in process and on loopback, conformance checking)."""
