"""Run-time infrastructure."""
