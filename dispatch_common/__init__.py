"""Mechanisms shared by every service: settings, events, bus, outbox, storage, auth, telemetry.

Nothing here knows a business rule of any one service.
"""
