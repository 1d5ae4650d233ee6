"""Billing's use cases, by topic. HTTP use cases open and commit their own unit of work;
bus handlers run inside the consumer's (it commits after them), so they do neither."""
