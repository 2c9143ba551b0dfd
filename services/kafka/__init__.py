"""Kafka client configuration and topic administration."""
