"""The receiver: the HTTP endpoint a council's DfE CSC API sender posts its children's records to."""
