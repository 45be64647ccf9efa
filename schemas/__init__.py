"""JSON Schemas of the manifest and plan formats, shipped with the package."""
