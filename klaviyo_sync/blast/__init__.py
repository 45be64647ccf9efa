"""Blast radius: what removing a list or a tag reaches beyond itself, read at plan time and shown on the change.

reach.py   the facts (a list's profile count and the flows it triggers; the flows, campaigns and segments carrying
           a tag), their JSON form in a plan, and how plans word them
read.py    which objects a plan removes, and the paced reads of their reach (nothing else is read)

The facts are informational: a plan carries them (a saved plan too, so `apply plan.json` checks
`safety.max_profiles_affected` against the counts reviewed), but they are neither part of the live fingerprint nor of
the changes a saved plan must match. A list's profile count moves all the time; it is no reason to call a plan stale.
"""

from klaviyo_sync.blast.reach import CARRIERS, FlowTrigger, ListReach, Reach, TagReach, describe, reach_from_json, reach_to_json
from klaviyo_sync.blast.read import ReachClient, plan_with_reach, read_reach, removals

__all__ = [
    "CARRIERS",
    "FlowTrigger",
    "ListReach",
    "Reach",
    "ReachClient",
    "TagReach",
    "describe",
    "plan_with_reach",
    "reach_from_json",
    "reach_to_json",
    "read_reach",
    "removals",
]
