"""The identity store: pseudonym to the council's own child id, sealed with the council's key, on a compacted topic."""
