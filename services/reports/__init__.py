"""Reports over a council's history: the series by month, quarter or year, with benchmarks, in JSON, CSV or XLSX."""
