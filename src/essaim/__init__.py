"""Essaim: free software for the territorial networks of the French social and solidarity economy."""

__version__ = "0.1.0"
