"""Klaviyo's rules and the state of every emulated account. No HTTP here.

Each API key is one isolated account, identified by a hash of the key (`account_id`) so that neither the state
file nor a dump ever holds a key. Records are plain dicts (they persist as JSON as they are). Every method
raises `EmulatorError` with the status and body Klaviyo would send; the caller holds `Store.lock`.

Rules enforced here (see the fidelity checklist in the project's Klaviyo API notes):
- a tag cannot move between groups; a group's `exclusive` and `default` cannot change;
- the default group cannot be deleted; deleting a group deletes its tags and their links;
- deleting a tag or a list removes its links;
- caps: 1,000 templates, 500 tags, 50 tag groups, 100 tags per list, 150 list creations per UTC day (429);
- `editor_type` never changes; SYSTEM_DRAGGABLE takes `definition`, never `html` or `amp`;
- tag names are unique within a group and group names within an account (409); templates and lists may share names;
- an exclusive group links at most one of its tags to a given list (400).
"""

from __future__ import annotations

import copy
import hashlib
import random
import string
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from klaviyo_sync.emulator.errors import EmulatorError, conflict, invalid, not_found
from klaviyo_sync.emulator.ratelimit import retry_after_header, throttled_detail

TEMPLATE_CAP = 1000
TAG_CAP = 500
TAG_GROUP_CAP = 50
TAGS_PER_LIST_CAP = 100
LIST_CREATIONS_PER_DAY = 150  # create_list's daily limit; the rate limiter applies it (scaled) when it is on
DEFAULT_GROUP_NAME = "Default"
DEFAULT_OPT_IN = "double_opt_in"
EDITOR_TYPES = ("CODE", "USER_DRAGGABLE", "SYSTEM_DRAGGABLE")
OPT_IN_PROCESSES = ("double_opt_in", "single_opt_in")
KINDS = ("tag_groups", "tags", "lists", "templates")
_ALPHANUMERIC = string.ascii_letters + string.digits
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def account_id(api_key: str) -> str:
    """A stable, non-secret name for the account behind a key."""
    return "acct_" + hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:16]


def public_id(account: str) -> str:
    """The account's id as Klaviyo gives it (6 alphanumerics, its public API key) from its `account_id`: the same
    key meets the same id across restarts and state files, and the id holds nothing of the key."""
    digest = hashlib.sha256(f"public-id:{account}".encode()).digest()
    return "".join(_ALPHANUMERIC[byte % len(_ALPHANUMERIC)] for byte in digest[:6])


def format_time(epoch: float) -> str:
    """Klaviyo's datetime format: seconds precision with a `+00:00` offset."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class IdFactory:
    """Seeded ids in Klaviyo's formats; an id is never issued twice, across accounts and restarts."""

    def __init__(self, seed: int, issued: set[str] | None = None) -> None:
        self._rng = random.Random(seed)
        self.issued: set[str] = issued if issued is not None else set()
        self._numeric: int | None = None  # the last numeric id issued

    def short(self) -> str:
        """6-character alphanumerics, as for templates and lists."""
        return self._unique(lambda: "".join(self._rng.choice(_ALPHANUMERIC) for _ in range(6)))

    def numeric(self) -> str:
        """Increasing decimal strings, as for flow actions."""
        if self._numeric is None:
            self._numeric = max((int(i) for i in self.issued if i.isdigit()), default=100000000 + self._rng.randrange(1000))

        def following() -> str:
            assert self._numeric is not None
            self._numeric += 1
            return str(self._numeric)

        return self._unique(following)

    def uuid(self) -> str:
        """Lowercase UUID4s, as for tags and tag groups."""
        return self._unique(lambda: str(uuid.UUID(int=self._rng.getrandbits(128), version=4)))

    def ulid(self) -> str:
        """26-character ULIDs (Crockford base32, first character 0-7), as for universal content blocks."""
        return self._unique(lambda: self._rng.choice("01234567") + "".join(self._rng.choice(_CROCKFORD) for _ in range(25)))

    def _unique(self, make: Callable[[], str]) -> str:
        while True:
            candidate = make()
            if candidate not in self.issued:
                self.issued.add(candidate)
                return candidate


class Account:
    """One account's objects. `name` is its `account_id`; `links` holds (list_id, tag_id) pairs; `seq` orders
    objects by creation."""

    def __init__(self, data: dict[str, Any] | None = None, *, name: str = "") -> None:
        data = data or {}
        self.name = name
        self.tag_groups: dict[str, dict[str, Any]] = dict(data.get("tag_groups", {}))
        self.tags: dict[str, dict[str, Any]] = dict(data.get("tags", {}))
        self.lists: dict[str, dict[str, Any]] = dict(data.get("lists", {}))
        self.templates: dict[str, dict[str, Any]] = dict(data.get("templates", {}))
        self.links: set[tuple[str, str]] = {(link[0], link[1]) for link in data.get("links", [])}
        self.seq: int = int(data.get("seq", 0))
        # Lists created through the API on one UTC day: {"day": "YYYY-MM-DD", "count": n}.
        self.list_creations: dict[str, Any] = dict(data.get("list_creations", {}))
        # The records of resources registered beside the four above: resource name -> id -> record.
        self.collections: dict[str, dict[str, dict[str, Any]]] = {
            name: dict(records) for name, records in data.get("collections", {}).items()
        }

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "tag_groups": self.tag_groups,
            "tags": self.tags,
            "lists": self.lists,
            "templates": self.templates,
            "links": sorted([list(link) for link in self.links]),
            "seq": self.seq,
            "list_creations": self.list_creations,
        }
        if any(self.collections.values()):
            document["collections"] = {name: records for name, records in sorted(self.collections.items()) if records}
        return document

    def collection(self, name: str) -> dict[str, dict[str, Any]]:
        """The records of a registered resource, id -> record (created empty on first use)."""
        return self.collections.setdefault(name, {})

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def default_group(self) -> dict[str, Any]:
        return next(group for group in self.tag_groups.values() if group["default"])

    def tags_of_list(self, list_id: str) -> list[dict[str, Any]]:
        return sorted((self.tags[t] for (lst, t) in self.links if lst == list_id), key=lambda tag: tag["seq"])

    def lists_of_tag(self, tag_id: str) -> list[dict[str, Any]]:
        return sorted((self.lists[lst] for (lst, t) in self.links if t == tag_id), key=lambda item: item["seq"])

    def tags_of_group(self, group_id: str) -> list[dict[str, Any]]:
        return sorted((t for t in self.tags.values() if t["group_id"] == group_id), key=lambda tag: tag["seq"])


class Store:
    """Every account, the id factory and the clock. Callers hold `lock` around each operation."""

    def __init__(self, *, seed: int = 0, clock: Callable[[], float] | None = None) -> None:
        self.lock = threading.RLock()
        self.id_seed = seed
        self.clock = clock or time.time
        self.accounts: dict[str, Account] = {}
        self.ids = IdFactory(seed)
        # What `screenshot_status` a new universal content block starts with (Klaviyo renders screenshots later).
        self.screenshot_status = "never_generated"

    # -- whole-store operations -------------------------------------------------------------------

    def reset(self) -> None:
        self.accounts.clear()

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "accounts": {name: acct.to_json() for name, acct in sorted(self.accounts.items())},
            "issued_ids": sorted(self.ids.issued),
        }

    def load_json(self, data: dict[str, Any]) -> None:
        if data.get("version") != 1:
            raise ValueError(f"unsupported emulator state version: {data.get('version')!r}")
        self.accounts = {name: Account(acct, name=name) for name, acct in data.get("accounts", {}).items()}
        issued = set(data.get("issued_ids", []))
        for acct in self.accounts.values():
            for kind in KINDS:
                issued.update(getattr(acct, kind))
            for records in acct.collections.values():
                issued.update(records)
        self.ids = IdFactory(self.id_seed, issued)

    def account(self, api_key: str) -> Account:
        """The key's account, created on first use with its default tag group."""
        name = account_id(api_key)
        acct = self.accounts.get(name)
        if acct is None:
            acct = self.accounts[name] = Account(name=name)
            group_id = self.ids.uuid()
            acct.tag_groups[group_id] = {
                "id": group_id,
                "name": DEFAULT_GROUP_NAME,
                "exclusive": False,
                "default": True,
                "seq": acct.next_seq(),
            }
        return acct

    def now(self) -> str:
        return format_time(self.clock())

    # -- templates --------------------------------------------------------------------------------

    def get_template(self, acct: Account, template_id: str) -> dict[str, Any]:
        template = acct.templates.get(template_id)
        if template is None:
            raise not_found("template", template_id)
        return template

    def create_template(self, acct: Account, attrs: dict[str, Any]) -> dict[str, Any]:
        self._check_template_cap(acct)
        editor_type = attrs["editor_type"]
        if editor_type not in EDITOR_TYPES:
            raise invalid(
                f"'{editor_type}' is not a valid editor_type; use one of {', '.join(EDITOR_TYPES)}.",
                pointer="/data/attributes/editor_type",
            )
        if editor_type == "SYSTEM_DRAGGABLE":
            for forbidden in ("html", "amp"):
                if attrs.get(forbidden) is not None:
                    raise invalid(
                        f"'{forbidden}' is not allowed for SYSTEM_DRAGGABLE templates; send 'definition' instead.",
                        pointer=f"/data/attributes/{forbidden}",
                    )
            if not isinstance(attrs.get("definition"), dict):
                raise invalid("'definition' is required for SYSTEM_DRAGGABLE templates.", pointer="/data/attributes/definition")
            _check_definition(attrs["definition"])
            html = _html_for_definition(attrs["definition"])
            definition = copy.deepcopy(attrs["definition"])
        else:
            if not isinstance(attrs.get("html"), str):
                raise invalid(f"'html' is required for {editor_type} templates.", pointer="/data/attributes/html")
            html = attrs["html"]
            definition = None  # "ignored for CODE/USER_DRAGGABLE"
        now = self.now()
        template = {
            "id": self.ids.short(),
            "name": attrs["name"],
            "editor_type": editor_type,
            "html": html,
            "text": attrs.get("text"),
            "amp": attrs.get("amp"),
            "definition": definition,
            "created": now,
            "updated": now,
            "seq": acct.next_seq(),
        }
        acct.templates[template["id"]] = template
        return template

    def update_template(self, acct: Account, template_id: str, attrs: dict[str, Any]) -> dict[str, Any]:
        template = self.get_template(acct, template_id)
        if attrs.get("name", "") is None:  # a null name keeps the name, as an absent one does (the spec: nullable)
            attrs = {name: value for name, value in attrs.items() if name != "name"}
        if "editor_type" in attrs:
            raise invalid("'editor_type' cannot be changed once a template exists.", pointer="/data/attributes/editor_type")
        draggable = template["editor_type"] == "SYSTEM_DRAGGABLE"
        for name in attrs:
            if draggable and name in ("html", "amp"):
                raise invalid(f"'{name}' is not allowed for SYSTEM_DRAGGABLE templates.", pointer=f"/data/attributes/{name}")
            if not draggable and name == "definition":
                raise invalid(
                    "'definition' is not allowed for CODE/USER_DRAGGABLE templates.", pointer="/data/attributes/definition"
                )
        if "html" in attrs and attrs["html"] is None:
            raise invalid("'html' cannot be null.", pointer="/data/attributes/html")
        if "definition" in attrs:
            if not isinstance(attrs["definition"], dict):
                raise invalid("'definition' must be an object.", pointer="/data/attributes/definition")
            _check_definition(attrs["definition"])
            template["definition"] = copy.deepcopy(attrs["definition"])  # replaces the whole definition
            template["html"] = _html_for_definition(template["definition"])
        for name in ("name", "html", "text", "amp"):
            if name in attrs:
                template[name] = attrs[name]
        template["updated"] = self.now()
        return template

    def delete_template(self, acct: Account, template_id: str) -> None:
        self.get_template(acct, template_id)
        del acct.templates[template_id]

    def clone_template(self, acct: Account, source_id: str, name: str | None) -> dict[str, Any]:
        source = self.get_template(acct, source_id)
        self._check_template_cap(acct)
        now = self.now()
        clone = copy.deepcopy(source)
        clone.pop("owner", None)  # a clone of a flow-owned copy is a library template
        clone.pop("bound", None)
        clone.update(
            id=self.ids.short(),
            name=name if name is not None else f"{source['name']} (Clone)",
            created=now,
            updated=now,
            seq=acct.next_seq(),
        )
        acct.templates[clone["id"]] = clone
        return clone

    def _check_template_cap(self, acct: Account) -> None:
        # [UNKNOWN] whether flow-owned copies count: here only library templates do
        count = sum(1 for template in acct.templates.values() if template.get("owner", "library") == "library")
        if count >= TEMPLATE_CAP:
            raise invalid(
                f"This account already has {count} templates; "
                f"there is a limit of {TEMPLATE_CAP} templates that can be created via the API.",
            )

    # -- lists ------------------------------------------------------------------------------------

    def get_list(self, acct: Account, list_id: str) -> dict[str, Any]:
        item = acct.lists.get(list_id)
        if item is None:
            raise not_found("list", list_id)
        return item

    def create_list(self, acct: Account, name: str, opt_in_process: str | None, *, daily_cap: bool = False) -> dict[str, Any]:
        """`daily_cap`: count this creation against the 150 a day (API calls; seeding is not a creation today)."""
        if daily_cap:
            self._count_list_creation(acct)
        now = self.now()
        item = {
            "id": self.ids.short(),
            "name": name,
            "opt_in_process": opt_in_process or DEFAULT_OPT_IN,
            "created": now,
            "updated": now,
            "seq": acct.next_seq(),
        }
        acct.lists[item["id"]] = item
        return item

    def _count_list_creation(self, acct: Account) -> None:
        moment = datetime.fromtimestamp(self.clock(), UTC)
        day = moment.strftime("%Y-%m-%d")
        if acct.list_creations.get("day") != day:
            acct.list_creations = {"day": day, "count": 0}
        if acct.list_creations["count"] >= LIST_CREATIONS_PER_DAY:
            midnight = datetime.combine(moment.date() + timedelta(days=1), datetime.min.time(), UTC)
            wait = (midnight - moment).total_seconds()
            error = EmulatorError(429, "throttled", throttled_detail(wait, scaled=False), pointer="/data/")
            error.headers["Retry-After"] = retry_after_header(wait)
            raise error
        acct.list_creations["count"] += 1

    def update_list(self, acct: Account, list_id: str, attrs: dict[str, Any]) -> dict[str, Any]:
        item = self.get_list(acct, list_id)
        if "name" in attrs:
            if attrs["name"] is None:
                raise invalid("'name' cannot be null.", pointer="/data/attributes/name")
            item["name"] = attrs["name"]
        if attrs.get("opt_in_process") is not None:
            item["opt_in_process"] = attrs["opt_in_process"]
        item["updated"] = self.now()
        return item

    def set_profile_counts(self, acct: Account, counts: dict[str, Any]) -> None:
        """Seed how many profiles lists hold (list id -> `profile_count`; the emulator keeps no profiles themselves).
        Every entry is checked before any is set."""
        for list_id, count in counts.items():
            self.get_list(acct, list_id)
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise invalid(f"A profile count is a whole number of at least 0, not {count!r}.", pointer=f"/{list_id}")
        for list_id, count in counts.items():
            acct.lists[list_id]["profile_count"] = count

    def delete_list(self, acct: Account, list_id: str) -> None:
        self.get_list(acct, list_id)
        del acct.lists[list_id]
        acct.links = {link for link in acct.links if link[0] != list_id}

    # -- tag groups -------------------------------------------------------------------------------

    def get_tag_group(self, acct: Account, group_id: str) -> dict[str, Any]:
        group = acct.tag_groups.get(group_id)
        if group is None:
            raise not_found("tag group", group_id)
        return group

    def create_tag_group(self, acct: Account, name: str, exclusive: bool) -> dict[str, Any]:
        if len(acct.tag_groups) >= TAG_GROUP_CAP:
            raise invalid(f"An account cannot have more than {TAG_GROUP_CAP} unique tag groups.")
        self._check_group_name_free(acct, name, None)
        group = {"id": self.ids.uuid(), "name": name, "exclusive": exclusive, "default": False, "seq": acct.next_seq()}
        acct.tag_groups[group["id"]] = group
        return group

    def update_tag_group(self, acct: Account, group_id: str, name: str) -> dict[str, Any]:
        group = self.get_tag_group(acct, group_id)
        self._check_group_name_free(acct, name, group_id)
        group["name"] = name
        return group

    def delete_tag_group(self, acct: Account, group_id: str) -> None:
        group = self.get_tag_group(acct, group_id)
        if group["default"]:
            raise invalid("The default tag group cannot be deleted.", pointer="/data/id")
        doomed = {tag_id for tag_id, tag in acct.tags.items() if tag["group_id"] == group_id}
        for tag_id in doomed:
            del acct.tags[tag_id]
        acct.links = {link for link in acct.links if link[1] not in doomed}
        del acct.tag_groups[group_id]

    def _check_group_name_free(self, acct: Account, name: str, own_id: str | None) -> None:
        if any(g["name"] == name and g["id"] != own_id for g in acct.tag_groups.values()):
            raise conflict(f"A tag group named '{name}' already exists.")

    # -- tags -------------------------------------------------------------------------------------

    def get_tag(self, acct: Account, tag_id: str) -> dict[str, Any]:
        tag = acct.tags.get(tag_id)
        if tag is None:
            raise not_found("tag", tag_id)
        return tag

    def create_tag(self, acct: Account, name: str, group_id: str | None) -> dict[str, Any]:
        if len(acct.tags) >= TAG_CAP:
            raise invalid(f"An account cannot have more than {TAG_CAP} unique tags.")
        if group_id is None:
            group_id = acct.default_group()["id"]
        elif group_id not in acct.tag_groups:
            raise invalid(f"The tag group {group_id} does not exist.", pointer="/data/relationships/tag-group/data/id")
        self._check_tag_name_free(acct, name, group_id, None)
        tag = {"id": self.ids.uuid(), "name": name, "group_id": group_id, "seq": acct.next_seq()}
        acct.tags[tag["id"]] = tag
        return tag

    def update_tag(self, acct: Account, tag_id: str, name: str) -> dict[str, Any]:
        tag = self.get_tag(acct, tag_id)
        self._check_tag_name_free(acct, name, tag["group_id"], tag_id)
        tag["name"] = name
        return tag

    def delete_tag(self, acct: Account, tag_id: str) -> None:
        self.get_tag(acct, tag_id)
        del acct.tags[tag_id]
        acct.links = {link for link in acct.links if link[1] != tag_id}

    def _check_tag_name_free(self, acct: Account, name: str, group_id: str, own_id: str | None) -> None:
        if any(t["name"] == name and t["group_id"] == group_id and t["id"] != own_id for t in acct.tags.values()):
            group_name = acct.tag_groups[group_id]["name"]
            raise conflict(f"A tag named '{name}' already exists in the tag group '{group_name}'.")

    # -- list <-> tag links -----------------------------------------------------------------------

    def tag_lists(self, acct: Account, tag_id: str, list_ids: list[str]) -> None:
        """Link a tag to lists: all or nothing, idempotent for existing links."""
        tag = self.get_tag(acct, tag_id)
        group = acct.tag_groups[tag["group_id"]]
        for index, list_id in enumerate(list_ids):
            if list_id not in acct.lists:
                raise EmulatorError(404, "not_found", f"A list with id {list_id} does not exist.", pointer=f"/data/{index}/id")
        new_links = {(list_id, tag_id) for list_id in list_ids} - acct.links
        for index, list_id in enumerate(list_ids):
            if (list_id, tag_id) not in new_links:
                continue
            current = acct.tags_of_list(list_id)
            if len(current) >= TAGS_PER_LIST_CAP:
                raise invalid(
                    f"The list {list_id} already has {TAGS_PER_LIST_CAP} tags; a list cannot have more.",
                    pointer=f"/data/{index}/id",
                )
            if group["exclusive"]:
                other = next((t for t in current if t["group_id"] == group["id"]), None)
                if other is not None:
                    raise invalid(
                        f"The tag group '{group['name']}' is exclusive and the list {list_id} already has its tag "
                        f"'{other['name']}'; remove that tag first.",
                        pointer=f"/data/{index}/id",
                    )
        acct.links |= new_links

    def untag_lists(self, acct: Account, tag_id: str, list_ids: list[str]) -> None:
        """Unlink a tag from lists; unknown lists and missing links are ignored (idempotent)."""
        self.get_tag(acct, tag_id)
        acct.links -= {(list_id, tag_id) for list_id in list_ids}

    # -- seeding ----------------------------------------------------------------------------------

    def seed(self, acct: Account, data: dict[str, Any], *, others: tuple[str, ...] = ()) -> dict[str, list[str]]:
        """Create objects through the same rules as the API. Returns the new ids per kind, in input order.

        `others` are seed keys that registered resources handle themselves: skipped here, named in the error.
        """
        unknown = set(data) - set(KINDS) - set(others)
        if unknown:
            raise invalid(f"unknown seed keys: {', '.join(sorted(unknown))}; expected {', '.join((*KINDS, *others))}")
        created: dict[str, list[str]] = {kind: [] for kind in KINDS}
        for group in data.get("tag_groups", []):
            existing = next((g for g in acct.tag_groups.values() if g["name"] == group["name"]), None)
            if existing is not None and existing["default"]:
                created["tag_groups"].append(existing["id"])  # the default group is already there
                continue
            created["tag_groups"].append(self.create_tag_group(acct, group["name"], bool(group.get("exclusive", False)))["id"])
        for tag in data.get("tags", []):
            group_id = self._group_id_by_name(acct, tag.get("group", DEFAULT_GROUP_NAME))
            created["tags"].append(self.create_tag(acct, tag["name"], group_id)["id"])
        for item in data.get("lists", []):
            new_list = self.create_list(acct, item["name"], item.get("opt_in_process"))
            created["lists"].append(new_list["id"])
            if "profile_count" in item:
                self.set_profile_counts(acct, {new_list["id"]: item["profile_count"]})
            for group_name, tag_name in item.get("tags", []):
                group_id = self._group_id_by_name(acct, group_name)
                tag_id = next((t["id"] for t in acct.tags.values() if t["group_id"] == group_id and t["name"] == tag_name), None)
                if tag_id is None:
                    raise invalid(f"seed: list '{item['name']}' names unknown tag '{group_name}' / '{tag_name}'")
                self.tag_lists(acct, tag_id, [new_list["id"]])
        for template in data.get("templates", []):
            attrs = {"editor_type": "CODE", **template}
            created["templates"].append(self.create_template(acct, attrs)["id"])
        return created

    def _group_id_by_name(self, acct: Account, name: str) -> str:
        group = next((g for g in acct.tag_groups.values() if g["name"] == name), None)
        if group is None:
            raise invalid(f"seed: unknown tag group '{name}'")
        return str(group["id"])


def _check_definition(definition: dict[str, Any]) -> None:
    """The members of a `TemplateDefinition` the store reads, typed as the spec types them: `body` an object,
    `body.sections` an array or null."""
    pointer = "/data/attributes/definition"
    body = definition.get("body")
    if not isinstance(body, dict):
        raise invalid("'definition.body' is required and must be an object.", pointer=f"{pointer}/body")
    if not isinstance(body.get("sections") if body.get("sections") is not None else [], list):
        raise invalid("'definition.body.sections' must be an array.", pointer=f"{pointer}/body/sections")


def _html_for_definition(definition: dict[str, Any]) -> str:
    """Drag-and-drop templates still answer with HTML; ours is a plain rendering of the definition's shape."""
    sections = definition.get("body", {}).get("sections") or []
    return f'<html><body><div class="kl-dnd" data-sections="{len(sections)}"></div></body></html>'
