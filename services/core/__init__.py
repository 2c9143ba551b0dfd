"""The pure domain core: per-child history, rules and indicators. No I/O, no clock."""
