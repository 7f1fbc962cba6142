"""Offline emulator of fal.ai's Sora 2 endpoints."""
