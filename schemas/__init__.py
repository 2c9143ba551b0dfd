"""Event contracts: the single source of what flows on Front Door Monitor topics."""
