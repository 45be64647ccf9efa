"""Klaviyo's template language: Django's template engine used standalone, with Klaviyo's tags and filters.

One home for the language, shared by the manifest checks, `preview` and the emulator's `template-render`, so
this package imports nothing else from klaviyo_sync:
- `render` (`engine.py`): a template and a context -> HTML or text, as Klaviyo renders it;
- `lint` (`linter.py`): every problem in a template, each with its rule, line, column and a hint.
"""

from __future__ import annotations

from klaviyo_sync.language.engine import RenderError, RenderOptions, render
from klaviyo_sync.language.linter import RULES, Checked, Finding, LintOptions, Rule, check, lint

__all__ = ["RULES", "Checked", "Finding", "LintOptions", "RenderError", "RenderOptions", "Rule", "check", "lint", "render"]
