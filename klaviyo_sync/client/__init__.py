"""The Klaviyo API client: exact about the API, frugal with requests, patient with rate limits, silent about secrets.

http.py     KlaviyoHttp: headers, base URL checks, request/paginate, retries, request logging
api.py      KlaviyoClient: the typed calls (create/update/delete per kind, links, look-ups by name)
pacing.py   Pacer: per-operation windows from the spec's rate limits
retry.py    what may be retried and how long to wait
errors.py   answers → the ApiError subclasses, with hints
filters.py  filter expressions with escaped literals
redact.py   keeping the key out of text; the `klaviyo_sync.client` logger
"""

from klaviyo_sync.client.api import KlaviyoClient, related_id
from klaviyo_sync.client.http import DEFAULT_BASE_URL, check_base_url
from klaviyo_sync.client.pacing import Pacer

__all__ = ["DEFAULT_BASE_URL", "KlaviyoClient", "Pacer", "check_base_url", "related_id"]
