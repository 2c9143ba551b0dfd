"""Published reference data (DfE official statistics) shipped with the package and parsed on demand."""
