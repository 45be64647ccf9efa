"""The client tests' fixtures (a conformance-checked emulator, clients on it) serve the reader's tests too."""

from tests.client.conftest import make_client, make_emulator

__all__ = ["make_client", "make_emulator"]
