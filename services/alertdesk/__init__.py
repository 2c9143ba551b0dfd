"""The duty managers' alert desk: an authenticated live feed over the alerts topic, with actions and an audit."""
