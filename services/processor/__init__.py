"""The live processor: a faust worker that feeds frontdoor.events.v2 through the pure core."""
