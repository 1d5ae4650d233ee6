"""`make bench`: the booking benchmark, the platform side by side with a one-database baseline."""
