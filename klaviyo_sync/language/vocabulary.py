"""The names Klaviyo's template language knows (klaviyo-api-more.md §9), and the tags that open blocks."""

from __future__ import annotations

# Klaviyo's own tags that expand to a whole `<a>` element: inside an attribute they break the markup.
ELEMENT_TAGS = {"unsubscribe": "unsubscribe_link", "manage_preferences": "manage_preferences_link", "web_view": "web_view_link"}
UNSUBSCRIBE_TAGS = frozenset({"unsubscribe", "unsubscribe_link"})

# Django tags that make no sense in an email (they need files, URLs, requests or a debugger): not available.
EXCLUDED_DJANGO_TAGS = frozenset(
    {"extends", "include", "block", "load", "url", "csrf_token", "debug", "static", "lorem", "partialdef", "partial"}
)

# Tags that need an `{% end… %}`, and the branch tags each may hold.
BLOCK_TAGS = frozenset({"if", "for", "with", "comment", "verbatim", "catalog", "spaceless", "autoescape", "filter", "ifchanged"})
BRANCH_TAGS = {"else": ("if", "for", "ifchanged"), "elif": ("if",), "empty": ("for",)}
