"""The live processor: a faust worker that feeds frontdoor.events.v1 through the pure core."""
