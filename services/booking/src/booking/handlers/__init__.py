"""Booking's use cases, by topic. Each runs in one unit of work and authorizes its caller explicitly."""
