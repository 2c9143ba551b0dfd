"""Synthetic front-door event streams calibrated to DfE statistics: history mode and live pacing."""
