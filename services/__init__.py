"""Front Door Monitor services."""
