"""Shared test configuration: the natsim pytest plugin provides the netns marker handling."""
