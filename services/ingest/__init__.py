"""Adapters from outside formats (CIN census XML, Annex A, CSV/JSONL) to canonical events."""
