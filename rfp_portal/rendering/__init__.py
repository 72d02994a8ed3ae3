"""Turning what people type into something safe to show."""
