"""klaviyo-sync: plan and apply Klaviyo templates, lists and tags from YAML manifests."""

__version__ = "0.1.0"
