"""Matchmaking: tickets per mode and region, widening skill windows, atomic match formation."""
