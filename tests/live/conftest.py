"""The client tests' conformance-checked emulator serves the reader's tests too (`make_client` is suite-wide)."""

from tests.client.conftest import make_emulator

__all__ = ["make_emulator"]
