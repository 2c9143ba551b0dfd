"""The processor benchmark: worker throughput, latency, restart and restore, against faust and aiokafka baselines."""
