"""`frontdoor demo`: a small synthetic front-door feed pushed through Kafka, faust and the core, end to end."""
