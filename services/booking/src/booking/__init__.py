"""Booking: registrations, waitlists, attendance; home of the booking saga."""
