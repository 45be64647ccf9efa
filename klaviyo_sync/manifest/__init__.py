"""Manifests: the YAML files that describe an account, loaded into the desired State.

yamlfile      safe YAML with file:line:column on every value; duplicate keys, unknown tags, alias bombs refused
variables     ${VAR} substitution (--var, then the environment, then `vars:` defaults)
schema        validation against schemas/klaviyo.schema.json, with readable located problems
includes      `include:` globs, kept inside the project
templates     referenced files: reading them safely; HTML, Klaviyo tag and definition checks
declarations  parsed files -> declared Resources that remember their origin
checks        checks across files: duplicates, references, clone cycles, renames, ignore globs, limits
project       load_project(): all of the above, every problem reported at once
"""

from klaviyo_sync.manifest.project import Project, Thresholds, find_root_file, load_project

__all__ = ["Project", "Thresholds", "find_root_file", "load_project"]
