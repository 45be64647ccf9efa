"""Progress while applying: one line per change off a terminal, a bar on one, and the rate-limit wait in both."""

from __future__ import annotations

import io

from klaviyo_sync.apply import ApplyEvent
from klaviyo_sync.apply.progress import Progress
from klaviyo_sync.resources import Action, Change, Kind, Resource


def created(name: str) -> Change:
    return Change(Action.CREATE, Kind.LIST, (name,), Resource(Kind.LIST, (name,)), None)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_each_change_and_each_long_wait_gets_one_line() -> None:
    stream = io.StringIO()
    progress = Progress(2, stream, tty=False)
    progress.on_event(ApplyEvent("started", created("VIP")))
    progress.on_wait("create_list", 0.2)  # routine pacing: not worth a line
    progress.on_wait("create_list", 4.0)
    progress.on_wait("create_list", 3.0)  # the same wait again right away: not repeated
    progress.on_event(ApplyEvent("applied", created("VIP"), id="L1"))
    assert stream.getvalue().splitlines() == [
        "… waiting 4.0 s for Klaviyo's create_list rate limit",
        '+ created list["VIP"] (id L1)',
    ]


def test_on_a_terminal_a_bar_shows_the_count_and_the_current_rate_limit_wait() -> None:
    stream = Terminal()
    progress = Progress(2, stream, tty=True)
    progress.on_event(ApplyEvent("started", created("VIP")))
    progress.on_wait("create_list", 0.4)
    bar_with_wait = stream.getvalue().rsplit("\r\x1b[K", 1)[-1]
    assert bar_with_wait.startswith("[" + "-" * 24 + "] 0/2 waiting 0.4 s for Klaviyo's create_list rate limit")
    progress.on_event(ApplyEvent("applied", created("VIP"), id="L1"))
    assert stream.getvalue().rsplit("\r\x1b[K", 1)[-1].startswith("[" + "#" * 12 + "-" * 12 + "] 1/2 ")
    progress.close()
    assert stream.getvalue().endswith("\r\x1b[K") and "\n" not in stream.getvalue()
