"""The klaviyo-sync benchmark: plan and apply against the emulator, side by side with the official SDK.

Run it with `./scripts/bench` (or `python -m bench --help` from the repository root). Not shipped in the wheel.

accounts  the account sizes and the manifests generated for them
bounds    lower bounds: fewest reads, and the wall time the latency and rate limits force
worker    one measured operation in a child process (clean CPU time and peak memory)
baseline  the same reads and writes done with the official SDK, as a user would write them
run       the whole run: accounts, scenarios, table and JSON
table     the printed table
"""
