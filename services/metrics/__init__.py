"""Prometheus metrics, indicator gauges, benchmarks, Grafana boards and their checks for Front Door Monitor."""
