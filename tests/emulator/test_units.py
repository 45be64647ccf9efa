"""Pieces of the emulator on their own: rendering, seeding, persistence."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.emulator.errors import EmulatorError
from klaviyo_sync.emulator.persistence import load_state, save_state
from klaviyo_sync.emulator.rendering import render
from tests.emulator.helpers import client, tag_ids_of_list


def test_render_variables_defaults_and_unknown_tags() -> None:
    context = {"first_name": "Ada", "order": {"items": [{"name": "Lamp"}]}, "empty": ""}
    assert render("Hi {{ first_name }}!", context) == "Hi Ada!"
    assert render("{{order.items.0.name}}", context) == "Lamp"
    assert render("{{ last_name|default:'friend' }}", context) == "friend"
    assert render('{{ empty|default:"none" }}', context) == "none"
    assert render("{{ first_name|title|default:'x' }}", context) == "Ada"
    assert render("{{ missing.deeper }}|", context) == "|"
    assert render("{% if vip %}VIP{% endif %} {{ 'quoted' }} {% nonsense %}{{ first_name|nonsense }}", context) == " quoted "
    assert render("{% unsubscribe %}", context) == '<a href="https://emulator.invalid/unsubscribe">Unsubscribe</a>'
    assert render("<{{ first_name }}>", {"first_name": "<b>"}) == "<&lt;b&gt;>"
    assert render("<{{ first_name }}>", {"first_name": "<b>"}, html=False) == "<<b>>"
    assert render(None, context) is None


@given(st.text(), st.dictionaries(st.text(max_size=5), st.one_of(st.none(), st.integers(), st.text(), st.booleans())))
def test_render_gives_text_or_a_400(source: str, context: dict[str, object]) -> None:
    try:
        assert isinstance(render(source, context), str)
    except EmulatorError as exc:
        assert exc.status == 400 and "cannot be rendered: line " in str(exc.detail)


def test_seed_creates_through_the_rules_and_links_tags(api_key: str, emulator: Emulator) -> None:
    ids = emulator.seed(
        api_key,
        {
            "tag_groups": [{"name": "Lifecycle", "exclusive": False}, {"name": "Default"}],
            "tags": [{"group": "Lifecycle", "name": "Welcome"}, {"group": "Default", "name": "Misc"}],
            "lists": [{"name": "Newsletter", "opt_in_process": "single_opt_in", "tags": [["Lifecycle", "Welcome"]]}],
            "templates": [{"name": "Welcome", "editor_type": "CODE", "html": "<p/>", "text": "hi"}],
        },
    )
    assert {kind: len(values) for kind, values in ids.items()} == {"tag_groups": 2, "tags": 2, "lists": 1, "templates": 1}
    with client(emulator, api_key) as http:
        assert tag_ids_of_list(http, ids["lists"][0]) == [ids["tags"][0]]
        listed = http.get(f"/api/lists/{ids['lists'][0]}").json()["data"]["attributes"]
        assert listed["opt_in_process"] == "single_opt_in"
        default = http.get(f"/api/tag-groups/{ids['tag_groups'][1]}").json()["data"]["attributes"]
        assert default["default"] is True


def test_state_file_round_trip_is_atomic_and_keyless(tmp_path: Path, api_key: str) -> None:
    path = tmp_path / "nested" / "state.json"
    emulator = Emulator(EmulatorConfig(state_file=path))
    emulator.seed(api_key, {"lists": [{"name": "A"}]})
    saved = load_state(path)
    assert saved is not None and api_key not in json.dumps(saved)
    restored = Emulator(EmulatorConfig(state_file=path))
    assert restored.dump() == emulator.dump()
    save_state(path, {"version": 1, "accounts": {}})
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]
    assert load_state(tmp_path / "absent.json") is None
